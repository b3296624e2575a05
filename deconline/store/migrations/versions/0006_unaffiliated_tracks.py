"""unaffiliated tracks

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('unaffiliated_tracks',
    sa.Column('track_id', sa.String(length=64), nullable=False),
    sa.Column('provider_id', sa.String(length=64), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('alt_m', sa.Float(), nullable=False),
    sa.Column('gs_mps', sa.Float(), nullable=False),
    sa.Column('track_deg', sa.Float(), nullable=False),
    sa.Column('vrate_mps', sa.Float(), nullable=False),
    sa.Column('time_s', sa.Float(), nullable=False),
    sa.Column('received_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['provider_id'], ['parties.id'], ),
    sa.PrimaryKeyConstraint('track_id')
    )
    with op.batch_alter_table('unaffiliated_tracks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unaffiliated_tracks_time_s'), ['time_s'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('unaffiliated_tracks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unaffiliated_tracks_time_s'))
    op.drop_table('unaffiliated_tracks')
