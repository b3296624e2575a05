"""track intent: selected altitude, callsign, NACp and velocity age on both track tables

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 09:00:00

What a report may now say beside its kinematics: the altitude selected on the autopilot (ADS-B
TC 29, Mode S BDS 4,0), the callsign, the navigation accuracy category for position, and how much
older its velocity is than its position. Nullable: a report that does not say is stored as NULL,
and the rows stored before this revision said none of it.
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

TABLES = ('tracks', 'unaffiliated_tracks')


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('selected_alt_m', sa.Float(), nullable=True))
            batch_op.add_column(sa.Column('callsign', sa.String(length=8), nullable=True))
            batch_op.add_column(sa.Column('nac_p', sa.Integer(), nullable=True))
            batch_op.add_column(sa.Column('velocity_age_s', sa.Float(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('velocity_age_s')
            batch_op.drop_column('nac_p')
            batch_op.drop_column('callsign')
            batch_op.drop_column('selected_alt_m')
