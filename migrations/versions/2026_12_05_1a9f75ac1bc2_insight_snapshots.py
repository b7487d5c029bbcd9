"""Insight snapshots: the Outcomes page's grouped counts, counted once and reused for a few minutes

Revision ID: 1a9f75ac1bc2
Revises: e5b7a9c3d210
Create Date: 2026-12-05 01:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '1a9f75ac1bc2'
down_revision = 'e5b7a9c3d210'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('insight_snapshots',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('period_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rows', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_insight_snapshots'))
    )


def downgrade():
    op.drop_table('insight_snapshots')
