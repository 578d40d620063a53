"""[scheduler] and [filter_scheduler] options."""
from oslo_config import cfg

scheduler_opts = [
    cfg.IntOpt('discover_hosts_in_cells_interval', default=-1, min=-1,
               help='Seconds between automatic host discoveries run by the '
                    'scheduler (-1: never; run "minova-manage cell_v2 '
                    'discover_hosts" instead).'),
    cfg.IntOpt('max_attempts', default=3, min=1,
               help='Hosts tried for one instance: the chosen one plus '
                    'alternates used when a build fails.'),
    cfg.IntOpt('max_placement_results', default=1000, min=1,
               help='Limit on allocation candidates asked of placement.'),
    cfg.IntOpt('workers', min=1, help='Scheduler worker processes.'),
]

filter_opts = [
    cfg.ListOpt('enabled_filters',
                default=['ComputeFilter', 'AvailabilityZoneFilter'],
                help='Host filters run in order on the placement candidates.'),
    cfg.ListOpt('weight_classes', default=['RAMWeigher', 'CPUWeigher'],
                help='Weighers that rank the hosts that pass the filters.'),
    cfg.FloatOpt('ram_weight_multiplier', default=1.0,
                 help='Positive spreads by free RAM, negative stacks.'),
    cfg.FloatOpt('cpu_weight_multiplier', default=1.0,
                 help='Positive spreads by free vCPUs, negative stacks.'),
    cfg.IntOpt('host_subset_size', default=1, min=1,
               help='Pick randomly among the N best hosts.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(scheduler_opts, group='scheduler')
    conf.register_opts(filter_opts, group='filter_scheduler')
