"""Priority-weights fits (issue 14.3): each fit asked for, its report and proposed diff

Revision ID: 889d586d51ce
Revises: a2d17cca1e0e
Create Date: 2026-12-05 01:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '889d586d51ce'
down_revision = 'a2d17cca1e0e'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('weight_fits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('since', sa.Date(), nullable=True),
    sa.Column('decided_after_days', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('rules_version', sa.String(length=40), nullable=True),
    sa.Column('report', sa.JSON(), nullable=True),
    sa.Column('diff', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('seconds', sa.Float(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['coaches.id'], name=op.f('fk_weight_fits_created_by_id_coaches'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_weight_fits'))
    )
    with op.batch_alter_table('weight_fits', schema=None) as batch_op:
        batch_op.create_index('ix_weight_fits_status_id', ['status', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('weight_fits', schema=None) as batch_op:
        batch_op.drop_index('ix_weight_fits_status_id')
    op.drop_table('weight_fits')
