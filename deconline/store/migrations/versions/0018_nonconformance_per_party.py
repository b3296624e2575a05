"""one nonconformance alert per party, listing its aircraft

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 13:00:00

A party's aircraft outside every active operation of theirs raised one alert each: 5,000 of them,
5,000 alerts and 5,000 events a cycle. Now one alert per party lists them (``alerts.aircraft``),
updated as they come and go. The open per-aircraft alerts are cleared by the first evaluation
after the upgrade, which raises the party's one alert in their place.
"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('aircraft', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_column('aircraft')
