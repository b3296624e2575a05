"""an index of the deadlines still awaited

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08 01:00:00

The worker's sweep asks every second for messages past their deadline and still unacknowledged.
A message that asks for no acknowledgement stays "sent" for good, so the sweep read every such
message the line had ever carried. A partial index holds the messages that ask for one, by status
and deadline.
"""
from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        'ix_messages_awaiting_ack',
        'messages',
        ['status', 'deadline_s'],
        postgresql_where=sa.text('requires_ack'),
        sqlite_where=sa.text('requires_ack = 1'),
    )


def downgrade() -> None:
    op.drop_index('ix_messages_awaiting_ack', table_name='messages')
