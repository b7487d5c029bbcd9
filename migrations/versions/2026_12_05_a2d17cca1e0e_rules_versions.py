"""Rules versions in the database (issue 15): the versions (files' texts, content hash, status;
one live at most, held by a partial unique index), their audit log, and the rules version an
outbox email was rendered with

Revision ID: a2d17cca1e0e
Revises: e5b7a9c3d210
Create Date: 2026-12-05 01:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a2d17cca1e0e'
down_revision = 'e5b7a9c3d210'
branch_labels = None
depends_on = None

LIVE = sa.text("status = 'published'")


def upgrade():
    op.create_table(
        'rules_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('files', sa.JSON(), nullable=False),
        sa.Column('content_hash', sa.String(length=40), nullable=False),
        sa.Column('copy', sa.JSON(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('based_on_id', sa.Integer(), nullable=True),
        sa.Column('previous_live_id', sa.Integer(), nullable=True),
        sa.Column('created_by', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('published_by', sa.String(length=200), nullable=True),
        sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['based_on_id'], ['rules_versions.id'],
                                name=op.f('fk_rules_versions_based_on_id_rules_versions'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['previous_live_id'], ['rules_versions.id'],
                                name=op.f('fk_rules_versions_previous_live_id_rules_versions'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_rules_versions')),
        sa.UniqueConstraint('number', name=op.f('uq_rules_versions_number')),
    )
    op.create_index(op.f('ix_rules_versions_content_hash'), 'rules_versions', ['content_hash'], unique=False)
    op.create_index('uq_rules_versions_live', 'rules_versions', ['status'], unique=True,
                    sqlite_where=LIVE, postgresql_where=LIVE)
    op.create_table(
        'rules_audit',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('action', sa.String(length=20), nullable=False),
        sa.Column('version_id', sa.Integer(), nullable=True),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('actor', sa.String(length=200), nullable=False),
        sa.Column('detail', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['coaches.id'], name=op.f('fk_rules_audit_actor_id_coaches'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['version_id'], ['rules_versions.id'],
                                name=op.f('fk_rules_audit_version_id_rules_versions'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_rules_audit')),
    )
    op.create_index(op.f('ix_rules_audit_version_id'), 'rules_audit', ['version_id'], unique=False)
    op.create_index(op.f('ix_rules_audit_created_at'), 'rules_audit', ['created_at'], unique=False)
    # not a batch: SQLite adds (and drops) a column in place, no reflection of the expression index
    op.add_column('outbox_messages', sa.Column('rules_version', sa.String(length=40), nullable=True))


def downgrade():
    op.drop_column('outbox_messages', 'rules_version')
    op.drop_index(op.f('ix_rules_audit_created_at'), table_name='rules_audit')
    op.drop_index(op.f('ix_rules_audit_version_id'), table_name='rules_audit')
    op.drop_table('rules_audit')
    op.drop_index('uq_rules_versions_live', table_name='rules_versions')
    op.drop_index(op.f('ix_rules_versions_content_hash'), table_name='rules_versions')
    op.drop_table('rules_versions')
