"""[DEFAULT] vif_plugging_* and [neutron] (the networking service, as nova.conf).

[neutron] holds keystoneauth1's auth, session and adapter options (registered
with the other clients' in minova.conf.register_client_opts) and these; its
metadata_proxy_shared_secret lives in minova/conf/metadata.py. Neutron is used
when [neutron] names an auth_type or an endpoint_override (neutron_configured);
otherwise servers get the embedded networking ('none', 'auto': user-mode NIC).
"""
from oslo_config import cfg

default_opts = [
    cfg.IntOpt('vif_plugging_timeout', default=300, min=0,
               help='Seconds to wait for Neutron to report that a VIF is plugged '
                    '(network-vif-plugged) before the guest starts (0: do not wait).'),
    cfg.IntOpt('heal_instance_info_cache_interval', default=60,
               help='Seconds between refreshes of one server\'s network info cache from '
                    'Neutron (each run takes the next server of the host; 0 or less: '
                    'never). Only with [neutron].'),
    cfg.BoolOpt('vif_plugging_is_fatal', default=True,
                help='A VIF plug that times out or fails fails the build (or the '
                     'operation); False: log it and carry on.'),
]

neutron_opts = [
    cfg.StrOpt('ovs_bridge', default='br-int',
               help='The integration bridge a VIF is plugged into when Neutron\'s '
                    'port binding does not name one.'),
    cfg.StrOpt('default_floating_pool', default='nova',
               help='The external network floating IPs are allocated from when a '
                    'request names none.'),
    cfg.IntOpt('extension_sync_interval', default=600, min=0,
               help='Seconds between refreshes of the list of Neutron API extensions.'),
    cfg.IntOpt('http_retries', default=3, min=0,
               help='Retries of a Neutron request whose connection failed.'),
    cfg.BoolOpt('service_metadata_proxy', default=False,
                help='Neutron proxies the metadata requests of guests: the metadata '
                     'service takes the instance from the signed X-Instance-ID headers '
                     '(metadata_proxy_shared_secret). False (with Neutron): from the '
                     'port holding the request\'s address (X-Forwarded-For, else the '
                     'peer). See docs/metadata.md.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(default_opts)
    conf.register_opts(neutron_opts, group='neutron')


def register_client_opts(conf: cfg.ConfigOpts) -> None:
    """[neutron]: keystoneauth1's options (see minova.conf.register_client_opts)."""
    from keystoneauth1 import loading as ks_loading
    ks_loading.register_session_conf_options(conf, 'neutron')
    ks_loading.register_auth_conf_options(conf, 'neutron')
    ks_loading.register_adapter_conf_options(conf, 'neutron')
    conf.set_default('service_type', 'network', group='neutron')
    conf.set_default('valid_interfaces', ['internal', 'public'], group='neutron')


def neutron_configured(conf: cfg.ConfigOpts) -> bool:
    """Whether servers are networked by Neutron ([neutron] auth_type or
    endpoint_override set)."""
    import minova.conf
    minova.conf.register_client_opts()
    group = conf.neutron
    return bool(group.auth_type or group.endpoint_override)
