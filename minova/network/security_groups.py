"""addSecurityGroup / removeSecurityGroup on Neutron, as Nova's security_group_api:
the group (a name or id of the caller's project) is added to or removed from
every port of the server. Errors are Nova's: an unknown group, a server without
ports, a group it does not have: 404; a name matching several groups: 409; a
port without port security: 400."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from minova import exception
from minova.network import api as network_api
from minova.network import neutron as neutron_client

if TYPE_CHECKING:
    from minova.db.instances import Instance

LOG = logging.getLogger(__name__)


def _find(project_id: str, name: str) -> str:
    groups = network_api.client().list_security_groups(project_id=project_id)
    if name in {g['id'] for g in groups}:
        return name
    matches = [g['id'] for g in groups if g['name'] == name]
    if len(matches) > 1:
        raise exception.NoUniqueMatch(
            f"Multiple security_group matches found for name '{name}', use an ID to be "
            "more specific.")
    if not matches:
        raise exception.SecurityGroupNotFound(
            f'Security group {name} is not found for project {project_id}')
    return matches[0]


def _ports(instance: Instance) -> list[dict]:
    ports = network_api.client().list_ports(device_id=instance['uuid'])
    if not ports:
        raise exception.SecurityGroupNotFound(
            f"instance_id {instance['uuid']} could not be found as device id on any ports")
    return ports


def add_to_instance(project_id: str, instance: Instance, name: str) -> None:
    group = _find(project_id, name)
    neutron = network_api.client()
    for port in _ports(instance):
        if not port.get('port_security_enabled', True) or not port.get('fixed_ips'):
            raise exception.SecurityGroupCannotBeApplied()
        groups = list(port.get('security_groups') or [])
        if group in groups:
            continue
        try:
            neutron.update_port(port['id'], {'security_groups': groups + [group]})
        except neutron_client.NeutronError as e:
            if e.status == 400:
                raise exception.SecurityGroupCannotBeApplied(str(e)) from e
            raise


def remove_from_instance(project_id: str, instance: Instance, name: str) -> None:
    group = _find(project_id, name)
    neutron = network_api.client()
    found = False
    for port in _ports(instance):
        groups = list(port.get('security_groups') or [])
        if group not in groups:
            continue
        groups.remove(group)
        neutron.update_port(port['id'], {'security_groups': groups})
        found = True
    if not found:
        raise exception.SecurityGroupNotFound(
            f"Security group {name} not associated with the instance {instance['uuid']}")


def nova_ports(rule: dict[str, Any]) -> tuple[int | None, int | None]:
    """A Neutron rule's (from_port, to_port) as Nova shows them: a protocol
    without ports is all of them (1-65535, or -1 for ICMP's type and code)."""
    protocol = rule.get('protocol')
    low, high = rule.get('port_range_min'), rule.get('port_range_max')
    if protocol and low is None and high is None:
        return (1, 65535) if protocol.upper() in ('TCP', 'UDP') else (-1, -1)
    return low, high


def rule_view(rule: dict[str, Any], groups: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """A Neutron ingress rule in Nova's format (os-security-groups); None when
    its remote group is not in groups."""
    protocol = rule.get('protocol')
    low, high = nova_ports(rule)
    out: dict[str, Any] = {'id': rule['id'], 'parent_group_id': rule['security_group_id'],
                           'ip_protocol': protocol, 'from_port': low, 'to_port': high,
                           'group': {}, 'ip_range': {}}
    remote = rule.get('remote_group_id')
    if remote:
        source = groups.get(remote)
        if source is None:
            return None
        out['group'] = {'name': source.get('name'),
                        'tenant_id': source.get('project_id') or source.get('tenant_id')}
    else:
        out['ip_range'] = {'cidr': rule.get('remote_ip_prefix') or '0.0.0.0/0'}
    return out


def view_groups(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Neutron groups in Nova's format (os-security-groups): their ingress
    rules, a rule whose remote group is gone left out, as Nova."""
    neutron = network_api.client()
    known = {g['id']: g for g in groups}
    remotes = sorted({r['remote_group_id'] for g in groups
                      for r in g.get('security_group_rules') or []
                      if r.get('remote_group_id') and r['remote_group_id'] not in known})
    if remotes:
        known.update({g['id']: g for g in neutron.list_security_groups(id=remotes)})
    out = []
    for group in groups:
        rules = [rule_view(r, known) for r in group.get('security_group_rules') or []
                 if r.get('direction') == 'ingress']
        out.append({'id': group['id'], 'name': group['name'],
                    'description': group.get('description') or '',
                    'tenant_id': group.get('project_id') or group.get('tenant_id'),
                    'rules': [r for r in rules if r is not None]})
    return out


def server_security_groups(instance: Instance) -> list[dict[str, Any]]:
    """GET /servers/{id}/os-security-groups: the groups on the server's ports with
    their ingress rules, in Nova's format, ordered by (tenant_id, name)."""
    neutron = network_api.client()
    ports = neutron.list_ports(device_id=instance['uuid'])
    ids = sorted({g for p in ports for g in p.get('security_groups') or []})
    if not ids:
        return []
    out = view_groups(neutron.list_security_groups(id=ids))
    return sorted(out, key=lambda g: (g['tenant_id'] or '', g['name']))
