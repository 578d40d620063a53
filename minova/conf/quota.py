"""[quota]: default per-project limits (-1 is unlimited)."""
from oslo_config import cfg

opts = [
    cfg.IntOpt('instances', default=10, min=-1, help='Servers per project.'),
    cfg.IntOpt('cores', default=20, min=-1, help='vCPUs per project.'),
    cfg.IntOpt('ram', default=50 * 1024, min=-1, help='MiB of RAM per project.'),
    cfg.IntOpt('key_pairs', default=100, min=-1, help='Keypairs per user.'),
    cfg.IntOpt('metadata_items', default=128, min=-1, help='Metadata items per server.'),
    cfg.IntOpt('server_groups', default=10, min=-1, help='Server groups per project.'),
    cfg.IntOpt('server_group_members', default=10, min=-1, help='Servers per server group.'),
    cfg.BoolOpt('recheck_quota', default=True,
                help='Count usage again after a request\'s servers (or key pair, or '
                     'group member) are recorded, and undo the request if it went '
                     'over quota: without it, concurrent requests can together '
                     'exceed a limit each of them fits within.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(opts, group='quota')
