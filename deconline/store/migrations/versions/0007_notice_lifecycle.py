"""notice lifecycle, operation end times, hazard versions

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 09:00:00

Notices are no longer deleted when their cause goes away: they are ``open`` until then and
``resolved`` after, with the reason. Each notice names the party it is addressed to (the owner
of its operation). ``operations.ends_at`` (the end of the last window) lets the service end past
operations with one indexed query; hazards gain a version so a change is optimistic like an
operation's revision.
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('conflict_notices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('party_id', sa.String(length=64), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('state', sa.String(length=16), nullable=False, server_default='open'))
        batch_op.add_column(sa.Column('resolved_at', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('resolution', sa.String(length=32), nullable=True))
    op.execute(
        "UPDATE conflict_notices SET party_id = "
        "(SELECT operations.party_id FROM operations WHERE operations.id = conflict_notices.operation_id)"
    )
    with op.batch_alter_table('conflict_notices', schema=None) as batch_op:
        batch_op.alter_column('party_id', server_default=None)
        batch_op.alter_column('state', server_default=None)
        batch_op.create_index(batch_op.f('ix_conflict_notices_party_id'), ['party_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_conflict_notices_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_conflict_notices_other_operation_id'), ['other_operation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_conflict_notices_hazard_id'), ['hazard_id'], unique=False)

    with op.batch_alter_table('operations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ends_at', sa.Float(), nullable=False, server_default='0'))
    op.execute(
        "UPDATE operations SET ends_at = COALESCE((SELECT MAX(operation_volumes.end_s) FROM operation_volumes "
        "WHERE operation_volumes.operation_id = operations.id), 0)"
    )
    with op.batch_alter_table('operations', schema=None) as batch_op:
        batch_op.alter_column('ends_at', server_default=None)
        batch_op.create_index(batch_op.f('ix_operations_ends_at'), ['ends_at'], unique=False)

    with op.batch_alter_table('hazards', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('updated_at', sa.Float(), nullable=False, server_default='0'))
    op.execute("UPDATE hazards SET updated_at = created_at")
    with op.batch_alter_table('hazards', schema=None) as batch_op:
        batch_op.alter_column('version', server_default=None)
        batch_op.alter_column('updated_at', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('hazards', schema=None) as batch_op:
        batch_op.drop_column('updated_at')
        batch_op.drop_column('version')
    with op.batch_alter_table('operations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_operations_ends_at'))
        batch_op.drop_column('ends_at')
    op.execute("DELETE FROM conflict_notices WHERE state <> 'open'")
    with op.batch_alter_table('conflict_notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conflict_notices_hazard_id'))
        batch_op.drop_index(batch_op.f('ix_conflict_notices_other_operation_id'))
        batch_op.drop_index(batch_op.f('ix_conflict_notices_state'))
        batch_op.drop_index(batch_op.f('ix_conflict_notices_party_id'))
        batch_op.drop_column('resolution')
        batch_op.drop_column('resolved_at')
        batch_op.drop_column('state')
        batch_op.drop_column('party_id')
