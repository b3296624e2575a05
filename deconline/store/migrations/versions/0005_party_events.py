"""persisted live events

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 03:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('party_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('party_id', sa.String(length=64), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('party_events', schema=None) as batch_op:
        batch_op.create_index('ix_party_events_party_id_id', ['party_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_party_events_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('party_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_party_events_created_at'))
        batch_op.drop_index('ix_party_events_party_id_id')
    op.drop_table('party_events')
