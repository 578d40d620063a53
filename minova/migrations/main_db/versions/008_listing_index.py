"""Indexes that keep a project's server list and quota count cheap at
thousands of servers

Revision ID: 008_listing_index
Revises: 007_block_device_mapping
Create Date: 2026-12-06

- (project_id, deleted, created_at, uuid): a project's live servers in the
  server list's default order (created_at desc, uuid desc), so
  `GET /servers?limit=N` reads N index entries instead of sorting every
  server of the project.
- (project_id, deleted, vm_state, vcpus, memory_mb): the quota count of a
  project's instances, cores and RAM (two per boot) reads the index alone,
  not each instance's row.

Both start with (project_id, deleted), so the old index on those two columns
is dropped.
"""
from alembic import op

revision = '008_listing_index'
down_revision = '007_block_device_mapping'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('instances_project_id_deleted_created_at_uuid_idx', 'instances',
                    ['project_id', 'deleted', 'created_at', 'uuid'])
    op.create_index('instances_project_id_deleted_usage_idx', 'instances',
                    ['project_id', 'deleted', 'vm_state', 'vcpus', 'memory_mb'])
    op.drop_index('instances_project_id_deleted_idx', table_name='instances')


def downgrade() -> None:
    op.create_index('instances_project_id_deleted_idx', 'instances',
                    ['project_id', 'deleted'])
    op.drop_index('instances_project_id_deleted_usage_idx', table_name='instances')
    op.drop_index('instances_project_id_deleted_created_at_uuid_idx', table_name='instances')
