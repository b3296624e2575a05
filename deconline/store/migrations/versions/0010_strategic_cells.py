"""strategic cells: per-area locks and the subjects registered in each area

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'strategic_cells',
        sa.Column('cell', sa.Integer(), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('cell'),
    )
    op.create_table(
        'strategic_cell_members',
        sa.Column('cell', sa.Integer(), nullable=False),
        sa.Column('subject_id', sa.String(length=64), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('cell', 'subject_id'),
    )
    op.create_index('ix_strategic_cell_members_cell_seq', 'strategic_cell_members', ['cell', 'seq'])
    # The global change number is gone: each cell numbers its own changes.
    for table in ('operations', 'hazards'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{table}_change_seq'))
            batch_op.drop_column('change_seq')


def downgrade() -> None:
    for table in ('operations', 'hazards'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('change_seq', sa.BigInteger(), nullable=False, server_default='0'))
            batch_op.create_index(batch_op.f(f'ix_{table}_change_seq'), ['change_seq'], unique=False)
    op.drop_index('ix_strategic_cell_members_cell_seq', table_name='strategic_cell_members')
    op.drop_table('strategic_cell_members')
    op.drop_table('strategic_cells')
