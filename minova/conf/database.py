"""[database], [api_database] and [placement_database]: SQLAlchemy URLs and pools."""
from oslo_config import cfg


def _db_opts(what: str) -> list[cfg.Opt]:
    return [
        cfg.StrOpt('connection', secret=True,
                   help=f'SQLAlchemy URL of the {what}. Unset: a SQLite file under state_path.'),
        cfg.IntOpt('max_pool_size', default=16, min=1,
                   help='Connections kept open in the pool (as many as an RPC service '
                        'has threads, so that a busy one does not open and close '
                        'connections).'),
        cfg.IntOpt('max_overflow', default=40, min=0,
                   help='Connections allowed beyond max_pool_size under load.'),
        cfg.IntOpt('pool_timeout', default=30, min=1,
                   help='Seconds to wait for a pooled connection.'),
        cfg.IntOpt('connection_recycle_time', default=3600,
                   help='Seconds after which a pooled connection is replaced.'),
        cfg.IntOpt('max_retries', default=10,
                   help='Times a transaction is retried when the database is '
                        'unreachable or deadlocks (-1: forever).'),
        cfg.IntOpt('retry_interval', default=1,
                   help='Seconds between those retries.'),
    ]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(_db_opts('cell database of this service'), group='database')
    conf.register_opts(_db_opts('API database'), group='api_database')
    conf.register_opts(_db_opts('placement database'), group='placement_database')
