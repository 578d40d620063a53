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
    cfg.FloatOpt('candidates_reuse_seconds', default=1.0, min=0.0,
                 help='How long an answer of placement\'s allocation candidates '
                      'serves later requests that ask the same (same resources, '
                      'no required traits or aggregates but the disabled-compute '
                      'trait), with this scheduler\'s claims since its read '
                      'counted against it; placement\'s claim still decides, and '
                      'a request that finds no host in it asks placement again. '
                      '0: every request asks (or joins a read in flight).'),
    cfg.IntOpt('workers', min=1, help='Scheduler worker processes.'),
    cfg.BoolOpt('query_placement_for_availability_zone', default=True,
                help='Ask placement only for hosts in the aggregates of the requested '
                     'availability zone (member_of), before the host filters run.'),
]

filter_opts = [
    cfg.ListOpt('enabled_filters',
                default=['ComputeFilter', 'AvailabilityZoneFilter', 'ImagePropertiesFilter',
                         'ServerGroupAntiAffinityFilter', 'ServerGroupAffinityFilter'],
                help='Host filters run in order on the placement candidates.'),
    cfg.ListOpt('weight_classes',
                default=['RAMWeigher', 'CPUWeigher', 'DiskWeigher', 'NumInstancesWeigher',
                         'ServerGroupSoftAffinityWeigher', 'ServerGroupSoftAntiAffinityWeigher'],
                help='Weighers that rank the hosts that pass the filters (class names; '
                     'nova.scheduler.weights.all_weighers means all of them).'),
    cfg.FloatOpt('ram_weight_multiplier', default=1.0,
                 help='Positive spreads by free RAM, negative stacks.'),
    cfg.FloatOpt('cpu_weight_multiplier', default=1.0,
                 help='Positive spreads by free vCPUs, negative stacks.'),
    cfg.FloatOpt('disk_weight_multiplier', default=1.0,
                 help='Positive spreads by free disk, negative stacks.'),
    cfg.FloatOpt('num_instances_weight_multiplier', default=0.0,
                 help='Negative prefers hosts with fewer instances, positive more.'),
    cfg.FloatOpt('soft_affinity_weight_multiplier', default=1.0, min=0.0,
                 help='Weight of hosts already running members of a soft-affinity group.'),
    cfg.FloatOpt('soft_anti_affinity_weight_multiplier', default=1.0, min=0.0,
                 help='Weight against hosts running members of a soft-anti-affinity '
                      'group.'),
    cfg.IntOpt('host_subset_size', default=1, min=1,
               help='Pick randomly among the N best hosts.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(scheduler_opts, group='scheduler')
    conf.register_opts(filter_opts, group='filter_scheduler')
