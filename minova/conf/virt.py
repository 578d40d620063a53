"""[fake_driver] and [libvirt]: virt driver options."""
from oslo_config import cfg

fake_opts = [
    cfg.IntOpt('vcpus', default=1000, min=1, help='vCPUs the fake hypervisor reports.'),
    cfg.IntOpt('memory_mb', default=800000, min=1, help='MiB of RAM it reports.'),
    cfg.IntOpt('disk_gb', default=600000, min=1, help='GiB of disk it reports.'),
    cfg.FloatOpt('spawn_delay', default=0.0, min=0.0,
                 help='Seconds a fake spawn takes, to imitate a real hypervisor.'),
    cfg.ListOpt('fail_spawn_names', default=[],
                help='Servers whose name is in this list fail to spawn (tests reschedules).'),
    cfg.ListOpt('fail_finish_migration_names', default=[],
                help='Servers whose name is in this list fail on the destination of a '
                     'resize or cold migration (finish_migration raises): tests a '
                     'destination that cannot spawn the moved server.'),
    cfg.FloatOpt('migrate_delay', default=0.0, min=0.0,
                 help='Seconds a fake migrate_disk_and_power_off takes (the source of a '
                      'resize), to kill or disturb a compute mid-move in tests.'),
    cfg.FloatOpt('live_migration_seconds', default=0.5, min=0.0,
                 help='Seconds a fake live migration takes (in ten progress steps), so '
                      'it can be aborted or forced to complete.'),
    cfg.ListOpt('fail_live_migration_names', default=[],
                help='Servers whose name is in this list fail to live migrate halfway '
                     '(tests the rollback).'),
]

libvirt_opts = [
    cfg.StrOpt('virt_type', choices=['kvm', 'qemu'],
               help='Hypervisor type (unset: kvm when it really works here, else qemu).'),
    cfg.StrOpt('connection_uri', default='', help='libvirt URI (empty: from virt_type).'),
    cfg.IntOpt('wait_soft_reboot_seconds', default=120, min=1,
               help='Seconds a soft reboot waits for the guest to shut down after the '
                    'ACPI request before it falls back to a hard reboot.'),
    cfg.BoolOpt('metadata_via_user_network', default=True,
                help='Let guests on user-mode networking reach the metadata service at '
                     '169.254.169.254: slirp (network 169.254.0.0/16) forwards '
                     '169.254.169.254:80 to a UNIX socket in the instance directory on '
                     'which the compute listens for that guest alone, and relays to the '
                     'metadata service with the guest\'s signed instance id. Needs [neutron] '
                     'metadata_proxy_shared_secret (the all-in-one makes one up when it is '
                     'unset). See docs/metadata.md.'),
    cfg.StrOpt('live_migration_uri', default='qemu+tcp://%s/system',
               help='URI of the destination libvirtd a live migration connects to '
                    '(peer to peer); %s is the destination\'s '
                    'live_migration_inbound_addr, else its host name.'),
    cfg.StrOpt('live_migration_inbound_addr',
               help='Address of this host that live migrations to it use: its libvirtd '
                    '(live_migration_uri) and the QEMU migration stream (tcp://ADDR). '
                    'Unset: the host name. See docs/live-migration.md.'),
    cfg.StrOpt('remote_filesystem_transport', default='ssh', choices=['ssh', 'rsync'],
               help='How a cold migration or resize to another host without shared '
                    'instance storage copies the guest\'s files to it (the destination\'s '
                    '[DEFAULT] my_ip, as the compute user, by key): ssh (scp) or rsync '
                    '(over ssh). See docs/live-migration.md.'),
    # RBD volumes (docs/libvirt.md, Volumes): the cephx user and libvirt
    # secret used when a volume's connection info does not name them.
    cfg.StrOpt('rbd_user',
               help='The RADOS client name for accessing rbd (RADOS Block Devices) '
                    'volumes, when the connection info has no auth_username.'),
    cfg.StrOpt('rbd_secret_uuid',
               help='The libvirt UUID of the secret for the rbd_user volumes, when '
                    'the connection info has no secret_uuid.'),
    cfg.IntOpt('device_detach_attempts', default=8, min=1,
               help='How many times a volume detach asks a running guest to release '
                    'the device before it fails (DeviceDetachFailed).'),
    cfg.IntOpt('device_detach_timeout', default=20, min=1,
               help='Seconds each detach attempt waits for the guest to release the '
                    'device.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(fake_opts, group='fake_driver')
    conf.register_opts(libvirt_opts, group='libvirt')
