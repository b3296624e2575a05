"""each party's events numbered 1, 2, 3, ... in commit order

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 07:30:00

Event ids came from one sequence for all parties at insert time: on PostgreSQL two transactions
could commit out of id order (a stream past 101 never got 100), and the gaps in a party's ids
showed how much the others received. ``party_events.seq`` numbers each party's events at commit,
under the lock of its ``event_counters`` row. The events kept are numbered in their id order.
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'event_counters',
        sa.Column('party_id', sa.String(length=64), nullable=False),
        sa.Column('last', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('party_id'),
    )
    with op.batch_alter_table('party_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE party_events SET seq = (SELECT numbered.n FROM (SELECT id, row_number() OVER "
        "(PARTITION BY party_id ORDER BY id) AS n FROM party_events) AS numbered WHERE numbered.id = party_events.id)"
    )
    op.execute(
        "INSERT INTO event_counters (party_id, last) SELECT party_id, max(seq) FROM party_events GROUP BY party_id"
    )
    with op.batch_alter_table('party_events', schema=None) as batch_op:
        batch_op.alter_column('seq', existing_type=sa.BigInteger(), nullable=False)
        batch_op.drop_index('ix_party_events_party_id_id')
        batch_op.create_index('ux_party_events_party_id_seq', ['party_id', 'seq'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('party_events', schema=None) as batch_op:
        batch_op.drop_index('ux_party_events_party_id_seq')
        batch_op.create_index('ix_party_events_party_id_id', ['party_id', 'id'], unique=False)
        batch_op.drop_column('seq')
    op.drop_table('event_counters')
