"""minova-scheduler: RPC server on topic 'scheduler'."""
import sys

from minova.cmd import common
from minova.conf import CONF
from minova.scheduler import manager, rpcapi
from minova.service import Service


def main() -> None:
    common.parse_args(sys.argv[1:])
    svc = Service('minova-scheduler', rpcapi.TOPIC, manager.SchedulerManager(), CONF.host)
    svc.start()
    common.wait_for_signal(svc.stop)
