"""minova-conductor: RPC server on topic 'conductor'."""
import sys

from minova.cmd import common
from minova.conductor import manager, rpcapi
from minova.conf import CONF
from minova.service import Service


def main() -> None:
    common.parse_args(sys.argv[1:])
    svc = Service('minova-conductor', rpcapi.TOPIC, manager.ConductorManager(), CONF.host)
    svc.start()
    common.wait_for_signal(svc.stop)
