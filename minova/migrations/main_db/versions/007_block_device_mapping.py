"""Block device mappings, as Nova's block_device_mapping table

Revision ID: 007_block_device_mapping
Revises: 006_live_migration_progress
Create Date: 2026-12-06

One row per disk of a server that is not its image's root disk: a Cinder
volume attached to it (source volume, image, snapshot or blank; destination
volume) with its device name, boot index, delete_on_termination, the
attachment id and the connection info Cinder gave (JSON text). Soft-deleted
as the instances are.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '007_block_device_mapping'
down_revision = '006_live_migration_progress'
branch_labels = None
depends_on = None


def upgrade() -> None:
    ts = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql', 'mariadb')
    op.create_table(
        'block_device_mapping',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('uuid', sa.String(length=36)),
        sa.Column('instance_uuid', sa.String(length=36), nullable=False),
        sa.Column('source_type', sa.String(length=255)),
        sa.Column('destination_type', sa.String(length=255)),
        sa.Column('guest_format', sa.String(length=255)),
        sa.Column('device_type', sa.String(length=255)),
        sa.Column('disk_bus', sa.String(length=255)),
        sa.Column('boot_index', sa.Integer()),
        sa.Column('device_name', sa.String(length=255)),
        sa.Column('delete_on_termination', sa.Boolean()),
        sa.Column('snapshot_id', sa.String(length=36)),
        sa.Column('volume_id', sa.String(length=36)),
        sa.Column('volume_size', sa.Integer()),
        sa.Column('image_id', sa.String(length=36)),
        sa.Column('no_device', sa.Boolean()),
        sa.Column('connection_info',
                  sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mysql', 'mariadb')),
        sa.Column('tag', sa.String(length=255)),
        sa.Column('attachment_id', sa.String(length=36)),
        sa.Column('volume_type', sa.String(length=255)),
        sa.Column('created_at', ts),
        sa.Column('updated_at', ts),
        sa.Column('deleted_at', ts),
        sa.Column('deleted', sa.Integer()),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('uuid', name='uniq_block_device_mapping0uuid'),
    )
    op.create_index('block_device_mapping_instance_uuid_idx', 'block_device_mapping',
                    ['instance_uuid'])
    op.create_index('block_device_mapping_instance_uuid_volume_id_idx',
                    'block_device_mapping', ['instance_uuid', 'volume_id'])
