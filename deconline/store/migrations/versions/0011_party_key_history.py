"""party key history: every key a party has held, and the signed rotations between them

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'party_keys',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('party_id', sa.String(length=64), nullable=False),
        sa.Column('public_key', sa.String(length=64), nullable=False),
        sa.Column('valid_from', sa.Float(), nullable=False),
        sa.Column('valid_until', sa.Float(), nullable=True),
        sa.Column('document', sa.Text(), nullable=True),
        sa.Column('signature', sa.String(length=128), nullable=True),
        sa.Column('record_index', sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(['party_id'], ['parties.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_party_keys_party_id'), 'party_keys', ['party_id'], unique=False)
    op.create_index(op.f('ix_party_keys_public_key'), 'party_keys', ['public_key'], unique=False)
    # Every party registered so far holds the key it was registered with, since then.
    op.execute(
        'INSERT INTO party_keys (party_id, public_key, valid_from) '
        'SELECT id, public_key, created_at FROM parties ORDER BY created_at, id'
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_party_keys_public_key'), table_name='party_keys')
    op.drop_index(op.f('ix_party_keys_party_id'), table_name='party_keys')
    op.drop_table('party_keys')
