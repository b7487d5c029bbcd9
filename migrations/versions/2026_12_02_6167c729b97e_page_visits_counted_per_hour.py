"""Page visits counted per hour, page and first-touch source (the Insights funnel's first step)

Revision ID: 6167c729b97e
Revises: bbd0bda4fe6a
Create Date: 2026-12-02 06:22:10.409935

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '6167c729b97e'
down_revision = 'bbd0bda4fe6a'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('page_visits',
    sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
    sa.Column('page', sa.String(length=40), nullable=False),
    sa.Column('source', sa.String(length=120), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('hour', 'page', 'source', name=op.f('pk_page_visits'))
    )


def downgrade():
    op.drop_table('page_visits')
