"""/extensions and /extensions/{alias}: the v2 extension list Nova still serves.

Nova answers a fixed list of every v2 extension, served or not, and clients
(Tempest among them) look entries up by alias. mini-Nova lists the same
aliases and names; the descriptions are its own: what it serves for the
extensions it has, a note for the ones it does not.
"""
from __future__ import annotations

from typing import Any

import falcon

from minova.api import errors, policy, util
from minova.api.schemas import types
from minova.api.versioned import schema_for
from minova.policies import legacy as pol

_UPDATED = '2014-12-03T00:00:00Z'
_NAMESPACE = 'http://docs.openstack.org/compute/ext/fake_xml'

# (alias, name, description)
_SERVED = [
    ('OS-DCF', 'DiskConfig', 'Disk configuration (OS-DCF:diskConfig) of servers.'),
    ('OS-EXT-AZ', 'ExtendedAvailabilityZone', 'The availability zone of a server.'),
    ('OS-EXT-IMG-SIZE', 'ImageSize', 'Image sizes in image listings.'),
    ('OS-EXT-IPS', 'ExtendedIps', 'Fixed or floating: the type of server addresses.'),
    ('OS-EXT-IPS-MAC', 'ExtendedIpsMac', 'The MAC address of server addresses.'),
    ('OS-EXT-SRV-ATTR', 'ExtendedServerAttributes', 'Host and instance attributes of '
     'servers, for administrators.'),
    ('OS-EXT-STS', 'ExtendedStatus', 'vm, task and power states of servers.'),
    ('OS-FLV-DISABLED', 'FlavorDisabled', 'Whether a flavor is disabled.'),
    ('OS-FLV-EXT-DATA', 'FlavorExtraData', 'Ephemeral disk size of flavors.'),
    ('OS-SCH-HNT', 'SchedulerHints', 'Scheduler hints on server create.'),
    ('OS-SRV-USG', 'ServerUsage', 'Launch and termination times of servers.'),
    ('os-access-ips', 'AccessIPs', 'accessIPv4 and accessIPv6 of servers.'),
    ('os-aggregates', 'Aggregates', 'Host aggregates.'),
    ('os-availability-zone', 'AvailabilityZone', 'Availability zones.'),
    ('os-block-device-mapping-v2-boot', 'BlockDeviceMappingV2Boot',
     'Boot disk given as a block device mapping.'),
    ('os-config-drive', 'ConfigDrive', 'Config drives.'),
    ('os-console-output', 'ConsoleOutput', 'The console log of servers.'),
    ('os-extended-quotas', 'ExtendedQuotas', 'Deleting quotas, forced quota updates.'),
    ('os-flavor-access', 'FlavorAccess', 'Project access to private flavors.'),
    ('os-flavor-extra-specs', 'FlavorExtraSpecs', 'Flavor extra specs.'),
    ('os-flavor-manage', 'FlavorManage', 'Creating and deleting flavors.'),
    ('os-flavor-rxtx', 'FlavorRxtx', 'The rxtx factor of flavors.'),
    ('os-flavor-swap', 'FlavorSwap', 'Swap size of flavors.'),
    ('os-hosts', 'Hosts', 'Hosts (deprecated for os-hypervisors and os-services).'),
    ('os-hypervisor-status', 'HypervisorStatus', 'State and status of hypervisors.'),
    ('os-hypervisors', 'Hypervisors', 'Hypervisors.'),
    ('os-instance-actions', 'InstanceActions', 'Actions taken on servers.'),
    ('os-instance_usage_audit_log', 'OSInstanceUsageAuditLog', 'Instance usage audits.'),
    ('os-keypairs', 'Keypairs', 'Key pairs.'),
    ('os-migrations', 'Migrations', 'Migration records.'),
    ('os-multiple-create', 'MultipleCreate', 'Creating several servers at once.'),
    ('os-networks', 'Networks', 'Networks (deprecated proxy).'),
    ('os-quota-class-sets', 'QuotaClasses', 'Quota classes.'),
    ('os-quota-sets', 'Quotas', 'Quotas.'),
    ('os-server-diagnostics', 'ServerDiagnostics', 'Diagnostics of servers.'),
    ('os-server-external-events', 'ServerExternalEvents', 'Events about servers from '
     'other services.'),
    ('os-server-group-quotas', 'ServerGroupQuotas', 'Quotas on server groups.'),
    ('os-server-groups', 'ServerGroups', 'Server groups.'),
    ('os-server-list-multi-status', 'ServerListMultiStatus', 'Several status filters '
     'on server lists.'),
    ('os-server-sort-keys', 'ServerSortKeys', 'Sorting server lists.'),
    ('os-server-start-stop', 'ServerStartStop', 'Starting and stopping servers.'),
    ('os-services', 'Services', 'Services.'),
    ('os-simple-tenant-usage', 'SimpleTenantUsage', 'Usage of projects.'),
    ('os-used-limits', 'UsedLimits', 'Used quota in limits.'),
    ('os-user-data', 'UserData', 'User data of servers.'),
]

# (alias, name) of the rest of Nova's list: features mini-Nova does not serve
# (yet, or ever: nova-network, cells v1, baremetal and cloudpipe are gone).
_LISTED_ONLY = [
    ('NMN', 'Multinic'),
    ('os-admin-actions', 'AdminActions'),
    ('os-admin-password', 'AdminPassword'),
    ('os-agents', 'Agents'),
    ('os-assisted-volume-snapshots', 'AssistedVolumeSnapshots'),
    ('os-attach-interfaces', 'AttachInterfaces'),
    ('os-baremetal-ext-status', 'BareMetalExtStatus'),
    ('os-baremetal-nodes', 'BareMetalNodes'),
    ('os-block-device-mapping', 'BlockDeviceMapping'),
    ('os-cell-capacities', 'CellCapacities'),
    ('os-cells', 'Cells'),
    ('os-certificates', 'Certificates'),
    ('os-cloudpipe', 'Cloudpipe'),
    ('os-cloudpipe-update', 'CloudpipeUpdate'),
    ('os-console-auth-tokens', 'ConsoleAuthTokens'),
    ('os-consoles', 'Consoles'),
    ('os-create-backup', 'CreateBackup'),
    ('os-create-server-ext', 'Createserverext'),
    ('os-deferred-delete', 'DeferredDelete'),
    ('os-evacuate', 'Evacuate'),
    ('os-extended-evacuate-find-host', 'ExtendedEvacuateFindHost'),
    ('os-extended-floating-ips', 'ExtendedFloatingIps'),
    ('os-extended-hypervisors', 'ExtendedHypervisors'),
    ('os-extended-networks', 'ExtendedNetworks'),
    ('os-extended-rescue-with-image', 'ExtendedRescueWithImage'),
    ('os-extended-services', 'ExtendedServices'),
    ('os-extended-services-delete', 'ExtendedServicesDelete'),
    ('os-extended-status', 'ExtendedStatus'),
    ('os-extended-volumes', 'ExtendedVolumes'),
    ('os-fixed-ips', 'FixedIPs'),
    ('os-floating-ip-dns', 'FloatingIpDns'),
    ('os-floating-ip-pools', 'FloatingIpPools'),
    ('os-floating-ips', 'FloatingIps'),
    ('os-floating-ips-bulk', 'FloatingIpsBulk'),
    ('os-fping', 'Fping'),
    ('os-hide-server-addresses', 'HideServerAddresses'),
    ('os-lock-server', 'LockServer'),
    ('os-migrate-server', 'MigrateServer'),
    ('os-networks-associate', 'NetworkAssociationSupport'),
    ('os-pause-server', 'PauseServer'),
    ('os-personality', 'Personality'),
    ('os-preserve-ephemeral-rebuild', 'PreserveEphemeralOnRebuild'),
    ('os-rescue', 'Rescue'),
    ('os-security-group-default-rules', 'SecurityGroupDefaultRules'),
    ('os-security-groups', 'SecurityGroups'),
    ('os-server-password', 'ServerPassword'),
    ('os-shelve', 'Shelve'),
    ('os-suspend-server', 'SuspendServer'),
    ('os-tenant-networks', 'OSTenantNetworks'),
    ('os-used-limits-for-admin', 'UsedLimitsForAdmin'),
    ('os-user-quotas', 'UserQuotas'),
    ('os-virtual-interfaces', 'VirtualInterfaces'),
    ('os-volume-attachment-update', 'VolumeAttachmentUpdate'),
    ('os-volumes', 'Volumes'),
]

EXTENSIONS: list[dict[str, Any]] = sorted(
    [{'alias': alias, 'description': desc, 'links': [], 'name': name,
      'namespace': _NAMESPACE, 'updated': _UPDATED} for alias, name, desc in _SERVED]
    + [{'alias': alias, 'description': f'{name}: listed as Nova lists it; not served by '
        'mini-Nova.', 'links': [], 'name': name, 'namespace': _NAMESPACE,
        'updated': _UPDATED} for alias, name in _LISTED_ONLY],
    key=lambda ext: ext['alias'])


class Extensions:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        util.validated_query(req, schema_for(req, types.NO_QUERY))
        policy.authorize(util.ctx(req), pol.EXTENSIONS, {})
        resp.media = {'extensions': EXTENSIONS}


class Extension:
    def on_get(self, req: falcon.Request, resp: falcon.Response, alias: str) -> None:
        util.validated_query(req, schema_for(req, types.NO_QUERY))
        policy.authorize(util.ctx(req), pol.EXTENSIONS, {})
        for ext in EXTENSIONS:
            if ext['alias'] == alias:
                resp.media = {'extension': ext}
                return
        raise errors.not_found()
