"""Replay runs (issue 15.3): the last N submissions under a draft and the live rules

Revision ID: b7e3c91d4a58
Revises: 889d586d51ce
Create Date: 2026-12-05 02:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7e3c91d4a58'
down_revision = '889d586d51ce'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'rules_replays',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('draft_id', sa.Integer(), nullable=False),
        sa.Column('live_label', sa.String(length=40), nullable=False),
        sa.Column('live_hash', sa.String(length=40), nullable=False),
        sa.Column('draft_hash', sa.String(length=40), nullable=False),
        sa.Column('requested', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('done', sa.Integer(), nullable=False),
        sa.Column('summary', sa.JSON(), nullable=False),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_by', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['coaches.id'], name=op.f('fk_rules_replays_created_by_id_coaches'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['draft_id'], ['rules_versions.id'], name=op.f('fk_rules_replays_draft_id_rules_versions'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_rules_replays')),
    )
    op.create_index(op.f('ix_rules_replays_draft_id'), 'rules_replays', ['draft_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_rules_replays_draft_id'), table_name='rules_replays')
    op.drop_table('rules_replays')
