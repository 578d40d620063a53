"""[cinder]: where compute and the API reach the Block Storage service (as nova.conf).

keystoneauth1's auth, session and adapter options are registered with the
other clients' (minova.conf.register_client_opts). Cinder is used when
[cinder] names an auth_type, an endpoint_template or an endpoint_override
(cinder_configured); otherwise every volume request answers that there is no
volume service, and nothing else changes.
"""
from oslo_config import cfg

opts = [
    cfg.StrOpt('catalog_info', default='volumev3::publicURL',
               help='Where Cinder is in the service catalog: '
                    '<service_type>:<service_name>:<interface>.'),
    cfg.StrOpt('endpoint_template',
               help='Cinder\'s endpoint instead of the catalog, with %(project_id)s '
                    'replaced by the caller\'s project '
                    '(e.g. http://127.0.0.1:8776/v3/%(project_id)s).'),
    cfg.StrOpt('os_region_name', help='The catalog region of Cinder\'s endpoint.'),
    cfg.IntOpt('http_retries', default=3, min=0,
               help='Retries of a Cinder request whose connection failed.'),
    cfg.BoolOpt('cross_az_attach', default=True,
                help='Volumes may attach to servers of another availability zone; '
                     'False: a volume and its server share their zone, and boot from '
                     'volume creates volumes in the server\'s zone.'),
]

# [DEFAULT], as nova.conf: how long a build waits for a volume it created.
default_opts = [
    cfg.IntOpt('block_device_allocate_retries', default=60, min=0,
               help='How many times a build looks again at a volume it created (from '
                    'an image, a snapshot or blank) before giving up on it becoming '
                    'available.'),
    cfg.IntOpt('block_device_allocate_retries_interval', default=3, min=0,
               help='Seconds between two looks at a volume being created.'),
    cfg.IntOpt('reimage_timeout_per_gb', default=20, min=1,
               help='Seconds per GiB of the image that a rebuild of a volume-backed '
                    'server (2.93) waits for Cinder\'s volume-reimaged event.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(opts, group='cinder')
    conf.register_opts(default_opts)


def register_client_opts(conf: cfg.ConfigOpts) -> None:
    """[cinder]: keystoneauth1's options (see minova.conf.register_client_opts)."""
    from keystoneauth1 import loading as ks_loading
    ks_loading.register_session_conf_options(conf, 'cinder')
    ks_loading.register_auth_conf_options(conf, 'cinder')
    ks_loading.register_adapter_conf_options(conf, 'cinder')
    conf.set_default('service_type', 'volumev3', group='cinder')


def cinder_configured(conf: cfg.ConfigOpts) -> bool:
    """Whether a Cinder is configured ([cinder] auth_type, endpoint_template or
    endpoint_override)."""
    import minova.conf
    minova.conf.register_client_opts()
    group = conf.cinder
    return bool(group.auth_type or group.endpoint_template or group.endpoint_override)
