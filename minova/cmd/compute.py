"""minova-compute: the agent of one hypervisor host (topic compute, server = host)."""
import sys

from minova.cmd import common
from minova.compute import manager, rpcapi
from minova.conf import CONF
from minova.service import Service


def main() -> None:
    common.parse_args(sys.argv[1:])
    svc = Service(manager.BINARY, rpcapi.TOPIC, manager.ComputeManager(CONF.host), CONF.host,
                  via_conductor=True)
    svc.start()
    common.wait_for_signal(svc.stop)
