"""Replay runs: when a run last made progress (a run a dead worker left can be run again)

Revision ID: 390688c2de23
Revises: b7e3c91d4a58
Create Date: 2026-12-05 02:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '390688c2de23'
down_revision = 'b7e3c91d4a58'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('rules_replays') as batch:
        batch.add_column(sa.Column('progress_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('rules_replays') as batch:
        batch.drop_column('progress_at')
