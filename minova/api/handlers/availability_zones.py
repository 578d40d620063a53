"""/os-availability-zone and /os-availability-zone/detail.

A compute host is in the zone of the aggregate it belongs to (metadata
`availability_zone`, see os-aggregates), else in
[DEFAULT] default_availability_zone; other services are in "internal".
"""
from __future__ import annotations

from typing import Any

import falcon

from minova.api import host_status, policy, util
from minova.api.handlers import services as services_handler
from minova.api.views import services as services_view
from minova.db import services as services_db
from minova.policies import admin as pol


def _zones() -> dict[str, list[dict[str, Any]]]:
    zones: dict[str, list[dict[str, Any]]] = {}
    for _, svc in services_handler.all_services():
        zones.setdefault(host_status.zone(svc['binary'], svc['host']), []).append(svc)
    return zones


def _available(services: list[dict[str, Any]]) -> bool:
    return any(not s['disabled'] for s in services)


class Zones:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        policy.authorize(util.ctx(req), pol.AZ % 'list', {})
        out = []
        for name, services in sorted(_zones().items()):
            if name == 'internal':
                continue
            computes = [s for s in services if s['binary'] == host_status.COMPUTE_BINARY]
            out.append({'zoneName': name, 'zoneState': {'available': _available(computes)},
                        'hosts': None})
        resp.media = {'availabilityZoneInfo': out}


class ZonesDetail:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        policy.authorize(util.ctx(req), pol.AZ % 'detail', {})
        out = []
        for name, services in sorted(_zones().items()):
            hosts: dict[str, dict[str, Any]] = {}
            for svc in services:
                hosts.setdefault(svc['host'], {})[host_status.api_binary(svc['binary'])] = {
                    'available': services_db.is_up(svc),
                    'active': not svc['disabled'],
                    'updated_at': services_view.timestamp(
                        svc.get('last_seen_up') or svc.get('updated_at')),
                }
            out.append({'zoneName': name, 'zoneState': {'available': _available(services)},
                        'hosts': hosts})
        resp.media = {'availabilityZoneInfo': out}
