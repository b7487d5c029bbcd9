"""The nav's waiting count reads indexes only: new leads by owner, notes and done tasks by lead

Revision ID: c4d81e5a7f20
Revises: c4d8f2a61e07
Create Date: 2026-12-04 21:30:00.000000

Three small partial indexes (issue 12, read side): ``waiting_count`` on every dashboard page
reads the new leads in a coach's care (``ix_leads_new_owner_id``) and, per lead, probes for a note
(``ix_lead_events_note_lead_id``) and a done task (``ix_coach_tasks_done_lead_id``) instead of
reading every lead with a sub-plan each. The queries name the same constants literally, so the
indexes apply on both backends.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4d81e5a7f20'
down_revision = 'c4d8f2a61e07'
branch_labels = None
depends_on = None

NEW = sa.text("stage = 'new' AND erased_at IS NULL")
NOTE = sa.text("kind = 'note'")
DONE = sa.text("status = 'done'")


def upgrade():
    op.create_index('ix_leads_new_owner_id', 'leads', ['owner_id', 'id'], unique=False,
                    postgresql_where=NEW, sqlite_where=NEW)
    op.create_index('ix_lead_events_note_lead_id', 'lead_events', ['lead_id'], unique=False,
                    postgresql_where=NOTE, sqlite_where=NOTE)
    op.create_index('ix_coach_tasks_done_lead_id', 'coach_tasks', ['lead_id'], unique=False,
                    postgresql_where=DONE, sqlite_where=DONE)


def downgrade():
    op.drop_index('ix_coach_tasks_done_lead_id', table_name='coach_tasks')
    op.drop_index('ix_lead_events_note_lead_id', table_name='lead_events')
    op.drop_index('ix_leads_new_owner_id', table_name='leads')
