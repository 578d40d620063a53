"""[compute] options and the allocation ratios compute reports to placement."""
from oslo_config import cfg

default_opts = [
    cfg.FloatOpt('cpu_allocation_ratio', help='VCPU overcommit (unset: initial ratio).'),
    cfg.FloatOpt('ram_allocation_ratio', help='MEMORY_MB overcommit (unset: initial ratio).'),
    cfg.FloatOpt('disk_allocation_ratio', help='DISK_GB overcommit (unset: initial ratio).'),
    cfg.FloatOpt('initial_cpu_allocation_ratio', default=4.0,
                 help='VCPU ratio of a new compute node when cpu_allocation_ratio is unset.'),
    cfg.FloatOpt('initial_ram_allocation_ratio', default=1.0,
                 help='MEMORY_MB ratio of a new node when ram_allocation_ratio is unset.'),
    cfg.FloatOpt('initial_disk_allocation_ratio', default=1.0,
                 help='DISK_GB ratio of a new node when disk_allocation_ratio is unset.'),
    cfg.IntOpt('reserved_host_memory_mb', default=512, min=0,
               help='MEMORY_MB held back from guests.'),
    cfg.IntOpt('reserved_host_disk_mb', default=0, min=0,
               help='Disk held back from guests (reported in whole GB).'),
    cfg.IntOpt('reserved_host_cpus', default=0, min=0, help='VCPUs held back from guests.'),
    cfg.IntOpt('update_resources_interval', default=60,
               help='Seconds between refreshes of the compute node and its inventory.'),
    cfg.StrOpt('instances_path', help='Instance directories (unset: $state_path/instances).'),
]

compute_opts = [
    cfg.IntOpt('build_timeout_seconds', default=0, min=0,
               help='Builds still unfinished after this long are set to ERROR (0: never).'),
    cfg.IntOpt('unscheduled_build_timeout_seconds', default=600, min=0,
               help='Servers still waiting to be scheduled after this long (their '
                    'request to conductor was lost, e.g. with a message bus restart) '
                    'are set to ERROR with a fault, whatever build_timeout_seconds '
                    'says (0: never).'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(default_opts)
    conf.register_opts(compute_opts, group='compute')
