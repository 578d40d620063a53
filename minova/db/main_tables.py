"""Tables of a cell database (cell0 and every cellN have the same schema)."""
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

metadata = sa.MetaData()

# Microseconds everywhere: MySQL's plain DATETIME drops them, and boot
# timelines and launched_at are measured in milliseconds.
Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql', 'mariadb')


def _ts() -> list[sa.Column]:
    return [sa.Column('created_at', Timestamp), sa.Column('updated_at', Timestamp)]


def _soft_delete() -> list[sa.Column]:
    # deleted is 0 for a live row and the row id once deleted, so unique
    # constraints that include it allow a name to be reused.
    return [sa.Column('deleted_at', Timestamp), sa.Column('deleted', sa.Integer, default=0)]


instances = sa.Table(
    'instances', metadata,
    sa.Column('id', sa.Integer, primary_key=True),
    sa.Column('uuid', sa.String(36), nullable=False, unique=True),
    sa.Column('display_name', sa.String(255)),
    sa.Column('display_description', sa.Text),
    sa.Column('hostname', sa.String(255)),
    sa.Column('user_id', sa.String(255)),
    sa.Column('project_id', sa.String(255)),
    sa.Column('image_ref', sa.String(255)),
    sa.Column('flavor', sa.Text),                # flavor snapshot as JSON
    sa.Column('vcpus', sa.Integer),
    sa.Column('memory_mb', sa.Integer),
    sa.Column('root_gb', sa.Integer),
    sa.Column('ephemeral_gb', sa.Integer),
    sa.Column('host', sa.String(255)),
    sa.Column('node', sa.String(255)),
    sa.Column('launched_on', sa.String(255)),
    sa.Column('availability_zone', sa.String(255)),
    sa.Column('vm_state', sa.String(255)),
    sa.Column('task_state', sa.String(255)),
    sa.Column('power_state', sa.Integer),
    sa.Column('key_name', sa.String(255)),
    sa.Column('key_data', sa.Text),
    sa.Column('user_data', sa.Text),
    sa.Column('config_drive', sa.String(255)),
    sa.Column('metadata', sa.Text),              # user metadata as JSON
    sa.Column('system_metadata', sa.Text),       # JSON
    sa.Column('network_info', sa.Text),          # JSON list of VIFs
    sa.Column('tags', sa.Text),                  # JSON list
    sa.Column('access_ip_v4', sa.String(39)),
    sa.Column('access_ip_v6', sa.String(39)),
    sa.Column('progress', sa.Integer),
    sa.Column('locked', sa.Boolean, default=False),
    sa.Column('locked_by', sa.String(10)),
    sa.Column('launch_index', sa.Integer),
    sa.Column('reservation_id', sa.String(255)),
    sa.Column('root_device_name', sa.String(255)),
    sa.Column('launched_at', Timestamp),
    sa.Column('terminated_at', Timestamp),
    *_ts(),
    *_soft_delete(),
    # 008_listing_index: a project's list in its default order, its quota count
    sa.Index('instances_project_id_deleted_created_at_uuid_idx', 'project_id', 'deleted',
             'created_at', 'uuid'),
    sa.Index('instances_project_id_deleted_usage_idx', 'project_id', 'deleted', 'vm_state',
             'vcpus', 'memory_mb'),
    sa.Index('instances_host_deleted_idx', 'host', 'deleted'),
    sa.Index('instances_deleted_created_at_idx', 'deleted', 'created_at'),
)

instance_faults = sa.Table(
    'instance_faults', metadata,
    sa.Column('id', sa.Integer, primary_key=True),
    sa.Column('instance_uuid', sa.String(36), nullable=False),
    sa.Column('code', sa.Integer, nullable=False),
    sa.Column('message', sa.String(255)),
    sa.Column('details', sa.Text),
    sa.Column('host', sa.String(255)),
    *_ts(),
    sa.Index('instance_faults_instance_uuid_idx', 'instance_uuid'),
)

instance_actions = sa.Table(
    'instance_actions', metadata,
    sa.Column('id', sa.Integer, primary_key=True),
    sa.Column('action', sa.String(255)),
    sa.Column('instance_uuid', sa.String(36), nullable=False),
    sa.Column('request_id', sa.String(255)),
    sa.Column('user_id', sa.String(255)),
    sa.Column('project_id', sa.String(255)),
    sa.Column('start_time', Timestamp),
    sa.Column('finish_time', Timestamp),
    sa.Column('message', sa.String(255)),
    *_ts(),
    sa.Index('instance_actions_instance_uuid_request_id_idx', 'instance_uuid', 'request_id'),
)

instance_actions_events = sa.Table(
    'instance_actions_events', metadata,
    sa.Column('id', sa.Integer, primary_key=True),
    sa.Column('action_id', sa.Integer,
              sa.ForeignKey('instance_actions.id', ondelete='CASCADE'), nullable=False),
    sa.Column('event', sa.String(255)),
    sa.Column('start_time', Timestamp),
    sa.Column('finish_time', Timestamp),
    sa.Column('result', sa.String(255)),
    sa.Column('traceback', sa.Text),
    sa.Column('host', sa.String(255)),
    sa.Column('details', sa.Text),
    *_ts(),
    # 009_action_events_index: an event is found by its action (SQLite and
    # PostgreSQL do not index a foreign key by themselves)
    sa.Index('instance_actions_events_action_id_idx', 'action_id'),
)

# One row: the identity of the deployment this cell belongs to (see
# minova/db/deployment.py).
deployment = sa.Table(
    'deployment', metadata,
    sa.Column('id', sa.Integer, primary_key=True),
    sa.Column('uuid', sa.String(36), nullable=False, unique=True),
    sa.Column('created_at', sa.DateTime),
)

services = sa.Table(
    'services', metadata,
    sa.Column('id', sa.Integer, primary_key=True),
    sa.Column('uuid', sa.String(36), nullable=False, unique=True),
    sa.Column('host', sa.String(255), nullable=False),
    sa.Column('binary', sa.String(255), nullable=False),
    sa.Column('topic', sa.String(255)),
    sa.Column('report_count', sa.Integer, nullable=False, default=0),
    sa.Column('disabled', sa.Boolean, nullable=False, default=False),
    sa.Column('disabled_reason', sa.String(255)),
    sa.Column('forced_down', sa.Boolean, nullable=False, default=False),
    sa.Column('last_seen_up', Timestamp),
    sa.Column('version', sa.Integer, nullable=False, default=0),
    *_ts(),
    *_soft_delete(),
    sa.UniqueConstraint('host', 'binary', 'deleted', name='uniq_services0host0binary0deleted'),
    # 010: the scheduler's read of what changed since its last request
    sa.Index('services_updated_at_idx', 'updated_at'),
)

compute_nodes = sa.Table(
    'compute_nodes', metadata,
    sa.Column('id', sa.Integer, primary_key=True),
    sa.Column('uuid', sa.String(36), nullable=False, unique=True),
    sa.Column('service_id', sa.Integer),
    sa.Column('host', sa.String(255), nullable=False),
    sa.Column('hypervisor_hostname', sa.String(255), nullable=False),
    sa.Column('hypervisor_type', sa.String(255)),
    sa.Column('hypervisor_version', sa.Integer),
    sa.Column('host_ip', sa.String(39)),
    sa.Column('cpu_info', sa.Text),
    sa.Column('vcpus', sa.Integer, nullable=False),
    sa.Column('memory_mb', sa.Integer, nullable=False),
    sa.Column('local_gb', sa.Integer, nullable=False),
    sa.Column('vcpus_used', sa.Integer, nullable=False, default=0),
    sa.Column('memory_mb_used', sa.Integer, nullable=False, default=0),
    sa.Column('local_gb_used', sa.Integer, nullable=False, default=0),
    sa.Column('free_ram_mb', sa.Integer),
    sa.Column('free_disk_gb', sa.Integer),
    sa.Column('disk_available_least', sa.Integer),
    sa.Column('running_vms', sa.Integer, default=0),
    sa.Column('cpu_allocation_ratio', sa.Float),
    sa.Column('ram_allocation_ratio', sa.Float),
    sa.Column('disk_allocation_ratio', sa.Float),
    # 0 until "cell_v2 discover_hosts" has created the host mapping.
    sa.Column('mapped', sa.Integer, nullable=False, default=0),
    *_ts(),
    *_soft_delete(),
    sa.UniqueConstraint('host', 'hypervisor_hostname', 'deleted',
                        name='uniq_compute_nodes0host0hypervisor_hostname0deleted'),
    # 010: the scheduler's read of what changed since its last request
    sa.Index('compute_nodes_updated_at_idx', 'updated_at'),
)

migrations = sa.Table(
    'migrations', metadata,
    sa.Column('id', sa.Integer, primary_key=True),
    sa.Column('uuid', sa.String(36), unique=True),
    sa.Column('instance_uuid', sa.String(36)),
    sa.Column('migration_type', sa.String(20)),
    sa.Column('status', sa.String(255)),
    sa.Column('source_compute', sa.String(255)),
    sa.Column('dest_compute', sa.String(255)),
    sa.Column('source_node', sa.String(255)),
    sa.Column('dest_node', sa.String(255)),
    sa.Column('old_instance_type_id', sa.Integer),
    sa.Column('new_instance_type_id', sa.Integer),
    *_ts(),
    *_soft_delete(),
    # 004_migration_fields
    sa.Column('dest_host', sa.String(255)),
    sa.Column('user_id', sa.String(255)),
    sa.Column('project_id', sa.String(255)),
    sa.Column('hidden', sa.Boolean, nullable=False, default=False,
              server_default=sa.false()),
    sa.Column('cross_cell_move', sa.Boolean, nullable=False, default=False,
              server_default=sa.false()),
    sa.Index('migrations_instance_uuid_and_status_idx', 'deleted', 'instance_uuid',
             'status'),
    sa.Index('migrations_updated_at_idx', 'updated_at'),
    # 006_live_migration_progress: bytes, as the source's driver last reported
    *(sa.Column(name, sa.BigInteger) for name in (
        'memory_total', 'memory_processed', 'memory_remaining',
        'disk_total', 'disk_processed', 'disk_remaining')),
)

# 005_console_auth_tokens: only the token's sha256 is stored
console_auth_tokens = sa.Table(
    'console_auth_tokens', metadata,
    sa.Column('id', sa.Integer, primary_key=True),
    sa.Column('token_hash', sa.String(255), nullable=False),
    sa.Column('console_type', sa.String(255), nullable=False),
    sa.Column('host', sa.String(255), nullable=False),
    sa.Column('port', sa.Integer, nullable=False),
    sa.Column('internal_access_path', sa.String(255)),
    sa.Column('instance_uuid', sa.String(36), nullable=False),
    sa.Column('expires', sa.Integer, nullable=False),
    sa.Column('access_url_base', sa.String(255)),
    *_ts(),
    sa.UniqueConstraint('token_hash', name='uniq_console_auth_tokens0token_hash'),
    sa.Index('console_auth_tokens_instance_uuid_idx', 'instance_uuid'),
    sa.Index('console_auth_tokens_host_expires_idx', 'host', 'expires'),
)

# 007_block_device_mapping: Nova's block device mappings (volumes of a server)
block_device_mapping = sa.Table(
    'block_device_mapping', metadata,
    sa.Column('id', sa.Integer, primary_key=True),
    sa.Column('uuid', sa.String(36)),
    sa.Column('instance_uuid', sa.String(36), nullable=False),
    sa.Column('source_type', sa.String(255)),
    sa.Column('destination_type', sa.String(255)),
    sa.Column('guest_format', sa.String(255)),
    sa.Column('device_type', sa.String(255)),
    sa.Column('disk_bus', sa.String(255)),
    sa.Column('boot_index', sa.Integer),
    sa.Column('device_name', sa.String(255)),
    sa.Column('delete_on_termination', sa.Boolean, default=False),
    sa.Column('snapshot_id', sa.String(36)),
    sa.Column('volume_id', sa.String(36)),
    sa.Column('volume_size', sa.Integer),
    sa.Column('image_id', sa.String(36)),
    sa.Column('no_device', sa.Boolean),
    sa.Column('connection_info', sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mysql',
                                                        'mariadb')),
    sa.Column('tag', sa.String(255)),
    sa.Column('attachment_id', sa.String(36)),
    sa.Column('volume_type', sa.String(255)),
    *_ts(),
    *_soft_delete(),
    sa.UniqueConstraint('uuid', name='uniq_block_device_mapping0uuid'),
    sa.Index('block_device_mapping_instance_uuid_idx', 'instance_uuid'),
    sa.Index('block_device_mapping_instance_uuid_volume_id_idx', 'instance_uuid',
             'volume_id'),
)
