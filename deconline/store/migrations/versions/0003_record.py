"""record

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 08:33:47.374740
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('checkpoints',
    sa.Column('size', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('root', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('size')
    )
    op.create_table('record_entries',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('time_s', sa.Float(), nullable=False),
    sa.Column('author', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=48), nullable=False),
    sa.Column('readers', sa.JSON(), nullable=False),
    sa.Column('canonical', sa.Text(), nullable=False),
    sa.Column('salt', sa.String(length=64), nullable=False),
    sa.Column('leaf_hash', sa.String(length=64), nullable=False),
    sa.Column('signature', sa.String(length=128), nullable=True),
    sa.PrimaryKeyConstraint('seq')
    )


def downgrade() -> None:
    op.drop_table('record_entries')
    op.drop_table('checkpoints')
