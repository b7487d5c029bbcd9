"""Signed webhooks out: the owner's endpoints and one delivery row per event and endpoint

Revision ID: e5a9b3c7d214
Revises: e7a91c3d5b20
Create Date: 2026-12-04 22:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e5a9b3c7d214'
down_revision = 'e7a91c3d5b20'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('webhook_endpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('events', sa.JSON(), nullable=False),
    sa.Column('secret', sa.String(length=100), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['coaches.id'], name=op.f('fk_webhook_endpoints_created_by_coaches'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoints'))
    )
    op.create_table('webhook_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('endpoint_id', sa.Integer(), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=True),
    sa.Column('event_type', sa.String(length=40), nullable=False),
    sa.Column('purpose_key', sa.String(length=200), nullable=False),
    sa.Column('message_id', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('attempt_base', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('enqueued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoints.id'],
                            name=op.f('fk_webhook_deliveries_endpoint_id_webhook_endpoints'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_webhook_deliveries_lead_id_leads'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries')),
    sa.UniqueConstraint('purpose_key', name=op.f('uq_webhook_deliveries_purpose_key'))
    )
    op.create_index(op.f('ix_webhook_deliveries_lead_id'), 'webhook_deliveries', ['lead_id'], unique=False)
    op.create_index('ix_webhook_deliveries_status_next_attempt_at', 'webhook_deliveries',
                    ['status', 'next_attempt_at'], unique=False)
    op.create_index('ix_webhook_deliveries_endpoint_id_id', 'webhook_deliveries', ['endpoint_id', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_webhook_deliveries_endpoint_id_id', table_name='webhook_deliveries')
    op.drop_index('ix_webhook_deliveries_status_next_attempt_at', table_name='webhook_deliveries')
    op.drop_index(op.f('ix_webhook_deliveries_lead_id'), table_name='webhook_deliveries')
    op.drop_table('webhook_deliveries')
    op.drop_table('webhook_endpoints')
