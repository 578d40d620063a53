"""Client side of the scheduler RPC API (topic 'scheduler').

Version history:
  1.0 - initial: select_destinations
"""
from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

import oslo_messaging as messaging

from minova import rpc
from minova.context import RequestContext
from minova.db.build_requests import RequestSpec

if TYPE_CHECKING:  # (the placement client, and keystoneauth1, load only where used)
    from minova.clients.placement import AllocationRequest

TOPIC = 'scheduler'
VERSION = '1.0'


class Selection(TypedDict):
    """One host for one instance, as select_destinations answers it (Nova's
    Selection object, as a dict over RPC)."""
    service_host: str
    nodename: str
    cell_uuid: str
    compute_node_uuid: str
    # claimed for the first host of a host list; what to claim for an alternate
    allocation_request: AllocationRequest
    allocation_request_version: str


# One instance's hosts: the claimed host first, then the alternates (same
# cell, best first) a failed build is retried on.
HostList = list[Selection]


class SchedulerAPI:
    def __init__(self) -> None:
        self.client = rpc.get_client(messaging.Target(topic=TOPIC, version='1.0'),
                                     version_cap=VERSION)

    def select_destinations(self, ctxt: RequestContext, request_spec: RequestSpec,
                            instance_uuids: list[str], return_alternates: bool = True
                            ) -> list[HostList]:
        """One host list per instance: the claimed host first, then alternates.

        Raises NoValidHost.
        """
        cctxt = self.client.prepare(version='1.0')
        return cctxt.call(ctxt, 'select_destinations', request_spec=request_spec,
                          instance_uuids=instance_uuids, return_alternates=return_alternates)
