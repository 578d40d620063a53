"""Tables of the API database (one per deployment)."""
import sqlalchemy as sa

metadata = sa.MetaData()


def _ts() -> list[sa.Column]:
    return [sa.Column('created_at', sa.DateTime), sa.Column('updated_at', sa.DateTime)]


cell_mappings = sa.Table(
    'cell_mappings', metadata,
    sa.Column('id', sa.Integer, primary_key=True),
    sa.Column('uuid', sa.String(36), nullable=False, unique=True),
    sa.Column('name', sa.String(255)),
    sa.Column('transport_url', sa.Text, nullable=False),
    sa.Column('database_connection', sa.Text, nullable=False),
    sa.Column('disabled', sa.Boolean, nullable=False, default=False),
    *_ts(),
)

host_mappings = sa.Table(
    'host_mappings', metadata,
    sa.Column('id', sa.Integer, primary_key=True),
    sa.Column('cell_id', sa.Integer, sa.ForeignKey('cell_mappings.id'), nullable=False),
    sa.Column('host', sa.String(255), nullable=False, unique=True),
    *_ts(),
)

instance_mappings = sa.Table(
    'instance_mappings', metadata,
    sa.Column('id', sa.Integer, primary_key=True),
    sa.Column('instance_uuid', sa.String(36), nullable=False, unique=True),
    sa.Column('cell_id', sa.Integer, sa.ForeignKey('cell_mappings.id'), nullable=True),
    sa.Column('project_id', sa.String(255), nullable=False),
    sa.Column('user_id', sa.String(255)),
    sa.Column('queued_for_delete', sa.Boolean, nullable=False, default=False),
    *_ts(),
    sa.Index('instance_mappings_project_id_idx', 'project_id'),
)

flavors = sa.Table(
    'flavors', metadata,
    sa.Column('id', sa.Integer, primary_key=True),
    sa.Column('flavorid', sa.String(255), nullable=False, unique=True),
    sa.Column('name', sa.String(255), nullable=False, unique=True),
    sa.Column('memory_mb', sa.Integer, nullable=False),
    sa.Column('vcpus', sa.Integer, nullable=False),
    sa.Column('root_gb', sa.Integer, nullable=False, default=0),
    sa.Column('ephemeral_gb', sa.Integer, nullable=False, default=0),
    sa.Column('swap', sa.Integer, nullable=False, default=0),
    sa.Column('rxtx_factor', sa.Float, nullable=False, default=1.0),
    sa.Column('vcpu_weight', sa.Integer),
    sa.Column('disabled', sa.Boolean, nullable=False, default=False),
    sa.Column('is_public', sa.Boolean, nullable=False, default=True),
    sa.Column('description', sa.Text),
    *_ts(),
)

flavor_extra_specs = sa.Table(
    'flavor_extra_specs', metadata,
    sa.Column('id', sa.Integer, primary_key=True),
    sa.Column('flavor_id', sa.Integer, sa.ForeignKey('flavors.id', ondelete='CASCADE'),
              nullable=False),
    sa.Column('key', sa.String(255), nullable=False),
    sa.Column('value', sa.String(255)),
    *_ts(),
    sa.UniqueConstraint('flavor_id', 'key', name='uniq_flavor_extra_specs0flavor_id0key'),
)

flavor_projects = sa.Table(
    'flavor_projects', metadata,
    sa.Column('id', sa.Integer, primary_key=True),
    sa.Column('flavor_id', sa.Integer, sa.ForeignKey('flavors.id', ondelete='CASCADE'),
              nullable=False),
    sa.Column('project_id', sa.String(255), nullable=False),
    *_ts(),
    sa.UniqueConstraint('flavor_id', 'project_id',
                        name='uniq_flavor_projects0flavor_id0project_id'),
)

key_pairs = sa.Table(
    'key_pairs', metadata,
    sa.Column('id', sa.Integer, primary_key=True),
    sa.Column('name', sa.String(255), nullable=False),
    sa.Column('user_id', sa.String(255), nullable=False),
    sa.Column('fingerprint', sa.String(255)),
    sa.Column('public_key', sa.Text),
    sa.Column('type', sa.String(10), nullable=False, default='ssh'),
    *_ts(),
    sa.UniqueConstraint('user_id', 'name', name='uniq_key_pairs0user_id0name'),
)

build_requests = sa.Table(
    'build_requests', metadata,
    sa.Column('id', sa.Integer, primary_key=True),
    sa.Column('instance_uuid', sa.String(36), nullable=False, unique=True),
    sa.Column('project_id', sa.String(255), nullable=False),
    sa.Column('user_id', sa.String(255)),
    # The would-be instance record as JSON, shown as a BUILD server until
    # conductor creates the real row in a cell.
    sa.Column('instance', sa.Text, nullable=False),
    *_ts(),
    sa.Index('build_requests_project_id_idx', 'project_id'),
)

request_specs = sa.Table(
    'request_specs', metadata,
    sa.Column('id', sa.Integer, primary_key=True),
    sa.Column('instance_uuid', sa.String(36), nullable=False, unique=True),
    sa.Column('spec', sa.Text, nullable=False),
    *_ts(),
)

quotas = sa.Table(
    'quotas', metadata,
    sa.Column('id', sa.Integer, primary_key=True),
    sa.Column('project_id', sa.String(255), nullable=False),
    sa.Column('resource', sa.String(255), nullable=False),
    sa.Column('hard_limit', sa.Integer, nullable=False),
    *_ts(),
    sa.UniqueConstraint('project_id', 'resource', name='uniq_quotas0project_id0resource'),
)

# A quota class's limits; "default" overrides the [quota] defaults (003_quota_classes).
quota_classes = sa.Table(
    'quota_classes', metadata,
    sa.Column('id', sa.Integer, primary_key=True),
    sa.Column('class_name', sa.String(255), nullable=False),
    sa.Column('resource', sa.String(255), nullable=False),
    sa.Column('hard_limit', sa.Integer, nullable=False),
    *_ts(),
    sa.UniqueConstraint('class_name', 'resource',
                        name='uniq_quota_classes0class_name0resource'),
)

# -- host aggregates and server groups (002_aggregates_groups) -----------------

aggregates = sa.Table(
    'aggregates', metadata,
    sa.Column('id', sa.Integer, primary_key=True),
    sa.Column('uuid', sa.String(36), nullable=False, unique=True),
    sa.Column('name', sa.String(255), nullable=False, unique=True),
    *_ts(),
)

aggregate_hosts = sa.Table(
    'aggregate_hosts', metadata,
    sa.Column('id', sa.Integer, primary_key=True),
    sa.Column('host', sa.String(255), nullable=False),
    sa.Column('aggregate_id', sa.Integer, sa.ForeignKey('aggregates.id', ondelete='CASCADE'),
              nullable=False),
    *_ts(),
    sa.UniqueConstraint('host', 'aggregate_id', name='uniq_aggregate_hosts0host0aggregate_id'),
)

aggregate_metadata = sa.Table(
    'aggregate_metadata', metadata,
    sa.Column('id', sa.Integer, primary_key=True),
    sa.Column('aggregate_id', sa.Integer, sa.ForeignKey('aggregates.id', ondelete='CASCADE'),
              nullable=False),
    sa.Column('key', sa.String(255), nullable=False),
    sa.Column('value', sa.String(255), nullable=False),
    *_ts(),
    sa.UniqueConstraint('aggregate_id', 'key', name='uniq_aggregate_metadata0aggregate_id0key'),
    sa.Index('aggregate_metadata_key_idx', 'key'),
)

instance_groups = sa.Table(
    'instance_groups', metadata,
    sa.Column('id', sa.Integer, primary_key=True),
    sa.Column('uuid', sa.String(36), nullable=False, unique=True),
    sa.Column('name', sa.String(255)),
    sa.Column('user_id', sa.String(255)),
    sa.Column('project_id', sa.String(255)),
    *_ts(),
    sa.Index('instance_groups_project_id_idx', 'project_id'),
)

instance_group_policy = sa.Table(
    'instance_group_policy', metadata,
    sa.Column('id', sa.Integer, primary_key=True),
    sa.Column('policy', sa.String(255)),
    # JSON object, e.g. {"max_server_per_host": 2} (2.64)
    sa.Column('rules', sa.Text),
    sa.Column('group_id', sa.Integer, sa.ForeignKey('instance_groups.id', ondelete='CASCADE'),
              nullable=False),
    *_ts(),
    sa.Index('instance_group_policy_policy_idx', 'policy'),
)

instance_group_member = sa.Table(
    'instance_group_member', metadata,
    sa.Column('id', sa.Integer, primary_key=True),
    sa.Column('instance_uuid', sa.String(36), nullable=False),
    sa.Column('group_id', sa.Integer, sa.ForeignKey('instance_groups.id', ondelete='CASCADE'),
              nullable=False),
    *_ts(),
    sa.UniqueConstraint('group_id', 'instance_uuid',
                        name='uniq_instance_group_member0group_id0instance_uuid'),
    sa.Index('instance_group_member_instance_idx', 'instance_uuid'),
)
