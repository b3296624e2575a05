"""checkpoints carry the witnesses' cosignatures

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 03:10:00

The line sends every checkpoint to the witnesses its agreement names (C2SP tlog-witness) and keeps
the note with their cosignature lines, and how many there are, beside the note it signed.
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('checkpoints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cosigned', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('cosigners', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('checkpoints', schema=None) as batch_op:
        batch_op.drop_column('cosigners')
        batch_op.drop_column('cosigned')
