"""Conductor's block device mapping proxy for compute agents (conductor RPC 1.10).

Compute agents hold no DB credentials: they read and write their servers'
block device mappings (minova/db/block_devices.py) through these calls.
"""
from __future__ import annotations

from typing import Any

from minova.context import RequestContext
from minova.db import block_devices, engines


class VolumesMixin:
    """Mixed into ConductorManager."""

    def bdm_get_by_instance(self, context: RequestContext,
                            instance_uuid: str) -> list[dict[str, Any]]:
        return block_devices.get_by_instance(engines.cell_url(), instance_uuid)

    def bdm_create(self, context: RequestContext, values: dict[str, Any]) -> dict[str, Any]:
        return block_devices.create(engines.cell_url(), values)

    def bdm_update(self, context: RequestContext, bdm_uuid: str,
                   values: dict[str, Any]) -> dict[str, Any]:
        return block_devices.update(engines.cell_url(), bdm_uuid, values)

    def bdm_destroy(self, context: RequestContext, bdm_uuid: str) -> None:
        block_devices.destroy(engines.cell_url(), bdm_uuid)
