"""tracks and alerts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 08:13:25.251952
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('alerts',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('a_party', sa.String(length=64), nullable=False),
    sa.Column('a_track', sa.String(length=64), nullable=False),
    sa.Column('b_party', sa.String(length=64), nullable=False),
    sa.Column('b_track', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('level', sa.String(length=32), nullable=False),
    sa.Column('t_los', sa.Float(), nullable=False),
    sa.Column('t_cpa', sa.Float(), nullable=False),
    sa.Column('d_cpa_m', sa.Float(), nullable=False),
    sa.Column('dz_cpa_m', sa.Float(), nullable=False),
    sa.Column('los', sa.Boolean(), nullable=False),
    sa.Column('raised_at', sa.Float(), nullable=False),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.Column('cleared_at', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alerts_a_party'), ['a_party'], unique=False)
        batch_op.create_index(batch_op.f('ix_alerts_b_party'), ['b_party'], unique=False)
        batch_op.create_index(batch_op.f('ix_alerts_state'), ['state'], unique=False)

    op.create_table('tracks',
    sa.Column('party_id', sa.String(length=64), nullable=False),
    sa.Column('track_id', sa.String(length=64), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('alt_m', sa.Float(), nullable=False),
    sa.Column('gs_mps', sa.Float(), nullable=False),
    sa.Column('track_deg', sa.Float(), nullable=False),
    sa.Column('vrate_mps', sa.Float(), nullable=False),
    sa.Column('time_s', sa.Float(), nullable=False),
    sa.Column('received_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], ),
    sa.PrimaryKeyConstraint('party_id', 'track_id')
    )
    with op.batch_alter_table('tracks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tracks_time_s'), ['time_s'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('tracks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tracks_time_s'))

    op.drop_table('tracks')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alerts_state'))
        batch_op.drop_index(batch_op.f('ix_alerts_b_party'))
        batch_op.drop_index(batch_op.f('ix_alerts_a_party'))

    op.drop_table('alerts')
