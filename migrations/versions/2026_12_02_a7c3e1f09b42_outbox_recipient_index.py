"""The per-recipient cap is one index probe: outbox rows by lower(to_address), created_at

Revision ID: a7c3e1f09b42
Revises: 6167c729b97e
Create Date: 2026-12-02 07:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c3e1f09b42'
down_revision = '6167c729b97e'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_outbox_messages_recipient_created_at', 'outbox_messages',
                    [sa.text('lower(to_address)'), 'created_at'], unique=False)


def downgrade():
    op.drop_index('ix_outbox_messages_recipient_created_at', table_name='outbox_messages')
