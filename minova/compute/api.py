"""The compute API layer: what the REST handlers call to act on servers.

It owns the cross-cell logic (where a server lives, build requests before a
cell is chosen) and casts to conductor and compute. The REST layer does
validation, policy and rendering; it never touches cell DBs directly for
servers.

Instance dicts are rows of the cell `instances` table with JSON columns
decoded (see minova/db/instances.py), plus:
  'fault': the latest fault dict (code, message, details, created_at) or None,
  'cell_uuid': the cell the server lives in (None while it is a build request).
A server still waiting to be scheduled is rendered from its build request with
the same keys (vm_state 'building', task_state 'scheduling', host None).
"""
from __future__ import annotations

from typing import Any

from minova.context import RequestContext


class API:
    def create(self, ctx: RequestContext, *, flavor: dict[str, Any], image_ref: str | None,
               name: str, min_count: int = 1, max_count: int = 1,
               metadata: dict[str, str] | None = None, key_pair: dict[str, Any] | None = None,
               user_data: str | None = None, availability_zone: str | None = None,
               config_drive: bool = False, access_ip_v4: str | None = None,
               access_ip_v6: str | None = None, description: str | None = None,
               hostname: str | None = None, networks: Any = None,
               scheduler_hints: dict[str, Any] | None = None,
               tags: list[str] | None = None) -> tuple[list[dict[str, Any]], str]:
        """Quota-check, write build requests, cast to conductor.

        Returns (instances, reservation_id). Raises TooManyInstances (403).
        """
        raise NotImplementedError

    def get(self, ctx: RequestContext, uuid: str) -> dict[str, Any]:
        """One server (with fault), wherever it is. Raises InstanceNotFound."""
        raise NotImplementedError

    def get_all(self, ctx: RequestContext, filters: dict[str, Any], limit: int | None,
                marker: str | None, sort_keys: list[str], sort_dirs: list[str]
                ) -> list[dict[str, Any]]:
        """Servers across cells and build requests, merged in sort order.

        filters use minova/db/instances.py keys (project_id, name, vm_state
        list, host, changes-since, deleted ...). Raises exception.NotFound for
        an unknown marker ("marker [x] not found", 400 in the API).
        """
        raise NotImplementedError

    def update(self, ctx: RequestContext, instance: dict[str, Any],
               changes: dict[str, Any]) -> dict[str, Any]:
        """display_name, display_description, hostname, access_ip_v4/6."""
        raise NotImplementedError

    def delete(self, ctx: RequestContext, instance: dict[str, Any]) -> None:
        """Delete a server; returns once the delete is underway (204 in the API)."""
        raise NotImplementedError

    def get_actions(self, ctx: RequestContext, instance: dict[str, Any],
                    limit: int | None = None, marker: str | None = None,
                    changes_since: Any = None, changes_before: Any = None
                    ) -> list[dict[str, Any]]:
        raise NotImplementedError

    def get_action(self, ctx: RequestContext, instance: dict[str, Any],
                   request_id: str) -> dict[str, Any]:
        """The action with key 'events' (list). Raises NotFound."""
        raise NotImplementedError
