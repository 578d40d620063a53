"""Option lists for oslo-config-generator (etc/minova/minova.conf.sample)."""
from keystoneauth1 import loading as ks_loading

from minova.conf import api, compute, console, database, default, glance, quota, scheduler, virt
from minova.conf import image as image_conf
from minova.conf import key_manager as key_manager_conf
from minova.conf import metadata as metadata_conf
from minova.conf import network as network_conf
from minova.conf import placement as placement_conf
from minova.conf import volume as volume_conf


def list_opts() -> list:
    ks = (ks_loading.get_session_conf_options()
          + ks_loading.get_auth_common_conf_options()
          + ks_loading.get_adapter_conf_options(include_deprecated=False))
    return [
        ('DEFAULT', default.opts + compute.default_opts + console.web_opts
                     + metadata_conf.default_opts + network_conf.default_opts
                     + volume_conf.default_opts),
        ('api', api.api_opts),
        ('wsgi', api.wsgi_opts),
        ('database', database._db_opts('cell database of this service')),
        ('api_database', database._db_opts('API database')),
        ('placement_database', database._db_opts('placement database')),
        ('scheduler', scheduler.scheduler_opts),
        ('filter_scheduler', scheduler.filter_opts),
        ('compute', compute.compute_opts),
        ('placement', ks),
        ('placement_api', placement_conf.server_opts),
        ('glance', glance.opts + ks),
        ('image_api', image_conf.opts),
        ('quota', quota.opts),
        ('fake_driver', virt.fake_opts),
        ('libvirt', virt.libvirt_opts),
        ('vnc', console.vnc_opts),
        ('serial_console', console.serial_opts),
        ('consoleauth', console.consoleauth_opts),
        ('console', console.console_opts),
        ('neutron', network_conf.neutron_opts + metadata_conf.neutron_opts + ks),
        ('cinder', volume_conf.opts + ks),
        ('key_manager', key_manager_conf.opts),
    ]


def set_defaults() -> None:
    pass
