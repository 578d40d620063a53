"""The absolute limits of GET /limits per microversion: (version, field, getter) rows.

Fields for resources mini-Nova does not count (personality files, network
resources) show Nova's fixed values until the version that dropped them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import falcon

from minova.api.views.fields import Field, Fields


@dataclass
class Render:
    limits: dict[str, int]
    usage: dict[str, int]


def _limit(name: str, resource: str) -> Field[Render]:
    return Field('2.1', name, lambda r: r.limits[resource])


def _used(name: str, resource: str) -> Field[Render]:
    return Field('2.1', name, lambda r: r.usage[resource])


def _fixed(name: str, value: int, until: str) -> Field[Render]:
    return Field('2.1', name, lambda r: value, until=until)


FIELDS: Fields[Render] = Fields(
    _limit('maxServerMeta', 'metadata_items'),
    _limit('maxTotalCores', 'cores'),
    _limit('maxTotalInstances', 'instances'),
    _limit('maxTotalKeypairs', 'key_pairs'),
    _limit('maxTotalRAMSize', 'ram'),
    _limit('maxServerGroups', 'server_groups'),
    _limit('maxServerGroupMembers', 'server_group_members'),
    _used('totalCoresUsed', 'cores'),
    _used('totalInstancesUsed', 'instances'),
    _used('totalRAMUsed', 'ram'),
    _used('totalServerGroupsUsed', 'server_groups'),
    _fixed('maxPersonality', 5, until='2.57'),
    _fixed('maxPersonalitySize', 10240, until='2.57'),
    Field('2.1', 'maxImageMeta', lambda r: r.limits['metadata_items'], until='2.39'),
    _fixed('maxSecurityGroupRules', -1, until='2.36'),
    _fixed('maxSecurityGroups', -1, until='2.36'),
    _fixed('maxTotalFloatingIps', -1, until='2.36'),
    _fixed('totalFloatingIpsUsed', 0, until='2.36'),
    _fixed('totalSecurityGroupsUsed', 0, until='2.36'),
)


def absolute(req: falcon.Request, limits: dict[str, int], usage: dict[str, int]
             ) -> dict[str, Any]:
    return FIELDS.render(req, Render(limits, usage))
