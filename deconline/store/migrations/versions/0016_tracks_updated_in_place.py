"""a party's tracks are updated in place

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 08:10:00

Every report updates its track's row. The index on ``tracks.time_s`` made each update write a new
row version and two index entries (no PostgreSQL HOT update), and left a dead row for VACUUM: at
20,000 aircraft, 20,000 a second. Without it, and with room left on each page (fillfactor 70), a
report is written in place. ``unaffiliated_tracks`` keeps its index: receivers accumulate aircraft.
"""
from alembic import op


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tracks', schema=None) as batch_op:
        batch_op.drop_index('ix_tracks_time_s')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE tracks SET (fillfactor = 70)')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE tracks RESET (fillfactor)')
    with op.batch_alter_table('tracks', schema=None) as batch_op:
        batch_op.create_index('ix_tracks_time_s', ['time_s'], unique=False)
