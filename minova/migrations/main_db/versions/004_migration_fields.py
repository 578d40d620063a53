"""The rest of Nova's migration record: destination host IP, owner, hidden

Revision ID: 004_migration_fields
Revises: 003_deployment
Create Date: 2026-12-18

GET /os-migrations shows dest_host, and from 2.80 the user and project of a
migration; hidden marks the record of a cross-cell move's other cell that
the API leaves out. Indexes as Nova's for the list filters.
"""
import sqlalchemy as sa
from alembic import op

revision = '004_migration_fields'
down_revision = '003_deployment'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('migrations', sa.Column('dest_host', sa.String(length=255)))
    op.add_column('migrations', sa.Column('user_id', sa.String(length=255)))
    op.add_column('migrations', sa.Column('project_id', sa.String(length=255)))
    op.add_column('migrations', sa.Column('hidden', sa.Boolean(), nullable=False,
                                          server_default=sa.false()))
    op.add_column('migrations', sa.Column('cross_cell_move', sa.Boolean(), nullable=False,
                                          server_default=sa.false()))
    op.create_index('migrations_instance_uuid_and_status_idx', 'migrations',
                    ['deleted', 'instance_uuid', 'status'])
    op.create_index('migrations_updated_at_idx', 'migrations', ['updated_at'])
