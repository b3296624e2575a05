"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 07:13:33.444668
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agreements',
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('proposed_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('in_force_at', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('version')
    )
    op.create_table('counters',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('parties',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('group', sa.String(length=64), nullable=True),
    sa.Column('public_key', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('parties', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_parties_group'), ['group'], unique=False)

    op.create_table('settings',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('agreement_signatures',
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('party_id', sa.String(length=64), nullable=False),
    sa.Column('signature', sa.String(length=128), nullable=False),
    sa.Column('signed_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], ),
    sa.ForeignKeyConstraint(['version'], ['agreements.version'], ),
    sa.PrimaryKeyConstraint('version', 'party_id')
    )
    op.create_table('hazards',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('party_id', sa.String(length=64), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('footprint', sa.JSON(), nullable=False),
    sa.Column('radius_m', sa.Float(), nullable=False),
    sa.Column('lower_m', sa.Float(), nullable=False),
    sa.Column('upper_m', sa.Float(), nullable=False),
    sa.Column('start_s', sa.Float(), nullable=False),
    sa.Column('end_s', sa.Float(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('change_seq', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('hazards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hazards_change_seq'), ['change_seq'], unique=False)
        batch_op.create_index('ix_hazards_state', ['state'], unique=False)

    op.create_table('operations',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('party_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('agreement_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.Column('change_seq', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('operations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_operations_change_seq'), ['change_seq'], unique=False)
        batch_op.create_index(batch_op.f('ix_operations_party_id'), ['party_id'], unique=False)

    op.create_table('tokens',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('party_id', sa.String(length=64), nullable=True),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], ),
    sa.PrimaryKeyConstraint('token_hash')
    )
    op.create_table('conflict_notices',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('operation_id', sa.String(length=40), nullable=False),
    sa.Column('operation_version', sa.Integer(), nullable=False),
    sa.Column('volume_ordinal', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('other_party_id', sa.String(length=64), nullable=True),
    sa.Column('other_operation_id', sa.String(length=40), nullable=True),
    sa.Column('other_ref', sa.String(length=64), nullable=False),
    sa.Column('hazard_id', sa.String(length=40), nullable=True),
    sa.Column('footprint', sa.JSON(), nullable=False),
    sa.Column('lower_m', sa.Float(), nullable=False),
    sa.Column('upper_m', sa.Float(), nullable=False),
    sa.Column('start_s', sa.Float(), nullable=False),
    sa.Column('end_s', sa.Float(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['operation_id'], ['operations.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('conflict_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conflict_notices_operation_id'), ['operation_id'], unique=False)

    op.create_table('operation_volumes',
    sa.Column('operation_id', sa.String(length=40), nullable=False),
    sa.Column('ordinal', sa.Integer(), nullable=False),
    sa.Column('footprint', sa.JSON(), nullable=False),
    sa.Column('radius_m', sa.Float(), nullable=False),
    sa.Column('lower_m', sa.Float(), nullable=False),
    sa.Column('upper_m', sa.Float(), nullable=False),
    sa.Column('start_s', sa.Float(), nullable=False),
    sa.Column('end_s', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['operation_id'], ['operations.id'], ),
    sa.PrimaryKeyConstraint('operation_id', 'ordinal')
    )


def downgrade() -> None:
    op.drop_table('operation_volumes')
    with op.batch_alter_table('conflict_notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conflict_notices_operation_id'))

    op.drop_table('conflict_notices')
    op.drop_table('tokens')
    with op.batch_alter_table('operations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_operations_party_id'))
        batch_op.drop_index(batch_op.f('ix_operations_change_seq'))

    op.drop_table('operations')
    with op.batch_alter_table('hazards', schema=None) as batch_op:
        batch_op.drop_index('ix_hazards_state')
        batch_op.drop_index(batch_op.f('ix_hazards_change_seq'))

    op.drop_table('hazards')
    op.drop_table('agreement_signatures')
    op.drop_table('settings')
    with op.batch_alter_table('parties', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_parties_group'))

    op.drop_table('parties')
    op.drop_table('counters')
    op.drop_table('agreements')
