"""[DEFAULT] options."""
import socket

from oslo_config import cfg

opts = [
    cfg.StrOpt('host', default=socket.gethostname(), sample_default='<current_hostname>',
               help='Name of this node: the compute host name, the topic suffix '
                    '(compute.<host>) and the key of its host mapping.'),
    cfg.StrOpt('my_ip', default='127.0.0.1', help='IP address of this host.'),
    cfg.StrOpt('state_path', default='/var/lib/minova',
               help='Top-level directory for mini-Nova state (SQLite files, '
                    'instances, image cache).'),
    cfg.StrOpt('instance_name_template', default='instance-%08x',
               help='Template for hypervisor instance names; formatted with '
                    'the instance id.'),
    cfg.StrOpt('concurrency_backend', default='threading',
               choices=['threading', 'eventlet'],
               help='How services run concurrent work: native threads, or '
                    'eventlet green threads (monkey patched at start-up). Read '
                    'before anything else is imported.'),
    cfg.IntOpt('report_interval', default=10, min=1,
               help='Seconds between service heartbeats into the services table.'),
    cfg.IntOpt('service_down_time', default=60, min=1,
               help='A service whose last heartbeat is older than this many '
                    'seconds is reported down and not scheduled to.'),
    cfg.StrOpt('default_availability_zone', default='nova',
               help='Availability zone of compute hosts that are in no zone.'),
    cfg.StrOpt('compute_driver', default='fake.FakeDriver',
               help='Virt driver, as <module>.<Class> under minova.virt '
                    '(fake.FakeDriver, libvirt.LibvirtDriver).'),
    cfg.BoolOpt('force_config_drive', default=False,
                help='Attach a config drive to every server, asked for or not.'),
    cfg.IntOpt('shutdown_timeout', default=60, min=0,
               help='Seconds a guest gets to shut down cleanly (ACPI) on stop '
                    'before it is powered off.'),
    cfg.IntOpt('sync_power_state_interval', default=600,
               help='Seconds between syncs of the DB power states with the '
                    'hypervisor (a guest that shut itself down becomes SHUTOFF); '
                    '<= 0 disables.'),
    cfg.StrOpt('running_deleted_instance_action', default='reap',
               choices=['reap', 'log', 'noop'],
               help='What a compute does with a guest of its own deployment and '
                    'host that is still there although its database knows the '
                    'server as deleted: destroy it, log it, or leave it. Guests '
                    'the database does not know are never destroyed.'),
    cfg.IntOpt('running_deleted_instance_poll_interval', default=1800,
               help='Seconds between looks for such guests (also done at '
                    'start-up); <= 0 disables the periodic look.'),
    cfg.IntOpt('reclaim_instance_interval', default=0,
               help='Soft delete: with a positive value a deleted server is only '
                    'powered off and becomes SOFT_DELETED (its resources and '
                    'allocations kept) and may be restored; its compute host '
                    'deletes it for good once it has been soft-deleted this many '
                    'seconds (a periodic task run at this interval). 0 or less: '
                    'servers are deleted at once.'),
    cfg.BoolOpt('allow_resize_to_same_host', default=False,
                help='Let the scheduler pick the server\'s own host as the '
                     'destination of a resize (Nova\'s option).'),
    cfg.IntOpt('resize_confirm_window', default=0, min=0,
               help='Seconds after which a resize awaiting confirmation '
                    '(VERIFY_RESIZE) is confirmed by its compute host; 0 disables.'),
    cfg.IntOpt('all_in_one_computes', default=1, min=1, max=16,
               help='Compute services minova-all-in-one runs in its process: '
                    '<host>, then <host>-2, <host>-3, ..., each its own host with '
                    'its own driver, so moves between hosts (migrate, evacuate, '
                    'unshelve elsewhere) can be tried on one machine.'),
    cfg.IntOpt('max_concurrent_live_migrations', default=1, min=0,
               help='Live migrations a compute host runs out at once (Nova\'s '
                    'option); more wait queued. 0: no limit.'),
    cfg.IntOpt('migrate_max_retries', default=-1, min=-1,
               help='How many more hosts a live migration tries after the '
                    'scheduler\'s pick fails its destination check (Nova\'s '
                    'option); -1: as many as there are.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(opts)
