"""statements carried out, by nonce

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 02:30:00

Every signed statement a party made is kept by its nonce, in the transaction that carries it out,
with the first answer once given: the same bytes again get that answer and change nothing, other
bytes with the same nonce are refused, and the primary key makes every instance agree. Rows older
than the longest window a statement may be accepted in are pruned.
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
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
