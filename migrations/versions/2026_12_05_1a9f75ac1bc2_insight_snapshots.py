"""Insight snapshots (the Outcomes page's grouped counts, reused for a few minutes) and each
completed assessment's flag ids beside its result (Insights counts them without parsing the result)

Revision ID: 1a9f75ac1bc2
Revises: 390688c2de23
Create Date: 2026-12-05 01:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '1a9f75ac1bc2'
down_revision = '390688c2de23'
branch_labels = None
depends_on = None


#: Each completed submission's flag ids, from its stored result (both backends' JSON functions).
BACKFILL = {
    "postgresql": """UPDATE assessment_submissions SET flag_ids = (
        SELECT coalesce(json_agg(e ->> 'id'), '[]'::json) FROM json_array_elements(
            CASE WHEN json_typeof(result -> 'flags') = 'array' THEN result -> 'flags' END) AS e
        WHERE json_typeof(e) = 'object' AND e ->> 'id' IS NOT NULL)
        WHERE result IS NOT NULL""",
    "sqlite": """UPDATE assessment_submissions SET flag_ids = (
        SELECT json_group_array(json_extract(value, '$.id')) FROM json_each(result, '$.flags')
        WHERE type = 'object' AND json_extract(value, '$.id') IS NOT NULL)
        WHERE result IS NOT NULL AND json_valid(result)""",
}


def upgrade():
    with op.batch_alter_table('assessment_submissions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('flag_ids', sa.JSON(), nullable=True))
    op.execute(BACKFILL[op.get_bind().dialect.name])
    op.create_table('insight_snapshots',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('period_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rows', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_insight_snapshots'))
    )


def downgrade():
    op.drop_table('insight_snapshots')
    with op.batch_alter_table('assessment_submissions', schema=None) as batch_op:
        batch_op.drop_column('flag_ids')
