"""Client side of the scheduler RPC API (topic 'scheduler').

Version history:
  1.0 - initial: select_destinations
"""
from __future__ import annotations

from typing import Any

import oslo_messaging as messaging

from minova import rpc
from minova.context import RequestContext

TOPIC = 'scheduler'
VERSION = '1.0'


class SchedulerAPI:
    def __init__(self) -> None:
        self.client = rpc.get_client(messaging.Target(topic=TOPIC, version='1.0'),
                                     version_cap=VERSION)

    def select_destinations(self, ctxt: RequestContext, request_spec: dict[str, Any],
                            instance_uuids: list[str], return_alternates: bool = True
                            ) -> list[list[dict[str, Any]]]:
        """One host list per instance: the claimed host first, then alternates.

        Each entry is a selection: service_host, nodename, cell_uuid,
        compute_node_uuid, allocation_request (JSON-able dict) and
        allocation_request_version. Raises NoValidHost.
        """
        cctxt = self.client.prepare(version='1.0')
        return cctxt.call(ctxt, 'select_destinations', request_spec=request_spec,
                          instance_uuids=instance_uuids, return_alternates=return_alternates)
