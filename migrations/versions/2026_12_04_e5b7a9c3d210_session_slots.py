"""In-app session booking: the coach and SEQUENCE on a booking, the slot holds (partial unique
indexes), an outbox row's iCalendar invite

Revision ID: e5b7a9c3d210
Revises: e5a9b3c7d214
Create Date: 2026-12-04 22:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e5b7a9c3d210'
down_revision = 'e5a9b3c7d214'
branch_labels = None
depends_on = None

ACTIVE = sa.text("provider = 'coachapp' AND status = 'booked'")


def upgrade():
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('coach_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('sequence', sa.Integer(), nullable=False, server_default='0'))
        batch_op.create_foreign_key(batch_op.f('fk_bookings_coach_id_coaches'), 'coaches', ['coach_id'], ['id'],
                                    ondelete='SET NULL')
        batch_op.create_index(batch_op.f('ix_bookings_coach_id'), ['coach_id'], unique=False)
    op.create_index('uq_bookings_coach_slot', 'bookings', ['coach_id', 'start_at'], unique=True,
                    sqlite_where=ACTIVE, postgresql_where=ACTIVE)
    op.create_index('uq_bookings_lead_in_app', 'bookings', ['lead_id'], unique=True,
                    sqlite_where=ACTIVE, postgresql_where=ACTIVE)
    # not a batch: SQLite adds (and drops) a column in place, no reflection of the expression index
    op.add_column('outbox_messages', sa.Column('ics', sa.Text(), nullable=True))


def downgrade():
    op.drop_column('outbox_messages', 'ics')
    op.drop_index('uq_bookings_lead_in_app', table_name='bookings')
    op.drop_index('uq_bookings_coach_slot', table_name='bookings')
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bookings_coach_id'))
        batch_op.drop_constraint(batch_op.f('fk_bookings_coach_id_coaches'), type_='foreignkey')
        batch_op.drop_column('sequence')
        batch_op.drop_column('coach_id')
