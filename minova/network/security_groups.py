"""addSecurityGroup / removeSecurityGroup on Neutron, as Nova's security_group_api:
the group (a name or id of the caller's project) is added to or removed from
every port of the server. Errors are Nova's: an unknown group, a server without
ports, a group it does not have: 404; a name matching several groups: 409; a
port without port security: 400."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

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
