"""indexes for what the worker reads every second

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08 01:00:00

Three reads of the worker's, every second, grew with the line's whole history:
- the hotline's sweep asks for messages past their deadline and still unacknowledged; a message
  that asks for no acknowledgement stays "sent" for good, and the sweep read every such message.
  A partial index holds the messages that ask for one, by status and deadline;
- the search for operations past their end walked the index of ``ends_at`` from the oldest, every
  ended and cancelled operation first. A partial index holds the pending ones only;
- the evaluator reads the active operations: ``state`` had no index.
"""
from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

PENDING_OPERATIONS = "state IN ('proposed', 'accepted', 'active')"


def upgrade() -> None:
    op.create_index(
        'ix_messages_awaiting_ack',
        'messages',
        ['status', 'deadline_s'],
        postgresql_where=sa.text('requires_ack'),
        sqlite_where=sa.text('requires_ack = 1'),
    )
    op.create_index(
        'ix_operations_pending_ends_at',
        'operations',
        ['ends_at'],
        postgresql_where=sa.text(PENDING_OPERATIONS),
        sqlite_where=sa.text(PENDING_OPERATIONS),
    )
    op.create_index('ix_operations_state', 'operations', ['state'])


def downgrade() -> None:
    op.drop_index('ix_operations_state', table_name='operations')
    op.drop_index('ix_operations_pending_ends_at', table_name='operations')
    op.drop_index('ix_messages_awaiting_ack', table_name='messages')
