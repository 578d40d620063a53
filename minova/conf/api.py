"""[api] and [wsgi] options of the compute API service, and [keystone_authtoken].

`[keystone_authtoken]` belongs to keystonemiddleware. Importing it costs
about 25 MiB per process (keystoneclient, cryptography, oslo.cache), so it
is registered where Keystone is in use (`register_authtoken_opts`), not
by every service at start; the sample config takes it from
keystonemiddleware's own namespace.
"""
from oslo_config import cfg

api_group = cfg.OptGroup('api', title='Compute API options')

api_opts = [
    cfg.StrOpt('auth_strategy', default='noauth2', choices=['noauth2', 'keystone'],
               help='How API requests are authenticated. noauth2: the token is '
                    '"user_id:project_id" and user "admin" gets the admin role '
                    '(testing only). keystone: tokens are validated by Keystone.'),
    cfg.HostAddressOpt('osapi_compute_listen', default='0.0.0.0',
                       help='Address the compute API listens on.'),
    cfg.PortOpt('osapi_compute_listen_port', default=8774,
                help='Port the compute API listens on.'),
    cfg.IntOpt('osapi_compute_workers', default=1, min=1,
               help='Number of compute API worker processes.'),
    cfg.IntOpt('max_limit', default=1000, min=0,
               help='Largest number of items a list returns in one response.'),
    cfg.BoolOpt('instance_list_per_project_cells', default=False,
                help='Only query the cells where the project has instances.'),
    cfg.BoolOpt('enable_instance_password', default=True,
                help='Answer the server\'s admin password (adminPass) in the '
                     'responses of create and rebuild, as Nova.'),
]

wsgi_opts = [
    cfg.IntOpt('default_pool_size', default=100, min=1,
               help='Threads (or green threads) serving API requests per worker.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(api_group)
    conf.register_opts(api_opts, group=api_group)
    conf.register_opts(wsgi_opts, group='wsgi')


def register_authtoken_opts(conf: cfg.ConfigOpts) -> None:
    """[keystone_authtoken], registered before auth_token or a test reads it."""
    from keystonemiddleware.auth_token import _opts as authtoken_opts

    for group, opts in authtoken_opts.list_opts():
        conf.register_opts(opts, group=group)
