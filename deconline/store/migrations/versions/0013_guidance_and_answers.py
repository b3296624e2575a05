"""guidance on alerts, answers on acknowledgements

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 23:00:00

Each side's guidance (the ranges of its own aircraft's manoeuvres that keep clear), refreshed by
every evaluation and shown to that side only; and the answer (accepted or rejected) a party gives
to a coordinated ``resolution`` message, which is acknowledged by answering it. Nullable: alerts
raised before this revision have no guidance, and an ordinary acknowledgement has no answer.
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('a_guidance', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('b_guidance', sa.JSON(), nullable=True))
    with op.batch_alter_table('acknowledgements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answer', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('acknowledgements', schema=None) as batch_op:
        batch_op.drop_column('answer')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_column('b_guidance')
        batch_op.drop_column('a_guidance')
