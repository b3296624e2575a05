"""alert positions

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 09:00:00

Where each party's own aircraft is predicted to be at an alert's closest point of approach (as of
the alert's last raise or level change), so a party's periodic review can map where its
encounters happened. Nullable: alerts raised before this revision have no position.
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('a_lat', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('a_lon', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('b_lat', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('b_lon', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_column('b_lon')
        batch_op.drop_column('b_lat')
        batch_op.drop_column('a_lon')
        batch_op.drop_column('a_lat')
