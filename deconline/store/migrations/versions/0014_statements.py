"""statements carried out once, by nonce

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 02:30:00

A record entry that carries out a party's signed statement holds its nonce (author:nonce, unique:
every instance agrees a statement is carried out once) and the SHA-256 of its bytes. The first
answers to statements, for their copies, and the admin's Idempotency-Keys are kept in
``statements``, pruned after the longest window a statement may be accepted in.
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('record_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('statement_nonce', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('statement_digest', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint('uq_record_entries_statement_nonce', ['statement_nonce'])
    op.create_table(
        'statements',
        sa.Column('party_id', sa.String(length=64), nullable=False),
        sa.Column('nonce', sa.String(length=160), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('action', sa.String(length=160), nullable=False),
        sa.Column('created_s', sa.Float(), nullable=False),
        sa.Column('received_s', sa.Float(), nullable=False),
        sa.Column('status', sa.Integer(), nullable=True),
        sa.Column('answer', sa.Text(), nullable=True),
        sa.Column('location', sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint('party_id', 'nonce'),
    )
    with op.batch_alter_table('statements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_statements_received_s'), ['received_s'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('statements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_statements_received_s'))
    op.drop_table('statements')
    with op.batch_alter_table('record_entries', schema=None) as batch_op:
        batch_op.drop_constraint('uq_record_entries_statement_nonce', type_='unique')
        batch_op.drop_column('statement_digest')
        batch_op.drop_column('statement_nonce')
