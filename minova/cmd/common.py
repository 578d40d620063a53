"""Start-up shared by every console script: config, logging, signals."""
from __future__ import annotations

import gc
import signal
import threading
from collections.abc import Callable

from oslo_log import log as logging

from minova.cmd import BACKEND
from minova.conf import CONF
from minova.version import VERSION

_log_registered = False


def cli_args(argv: list[str]) -> list[str]:
    """Accept --state-path DIR as well as oslo.config's own --state_path DIR."""
    out = []
    for arg in argv:
        if arg == '--state-path':
            arg = '--state_path'
        elif arg.startswith('--state-path='):
            arg = '--state_path=' + arg.split('=', 1)[1]
        out.append(arg)
    return out


def parse_args(argv: list[str], default_config_files: list[str] | None = None) -> None:
    """Parse the command line and config files; every console script takes
    --state-path (or [DEFAULT] state_path in a config file)."""
    global _log_registered
    if not _log_registered:
        logging.register_options(CONF)
        from minova.conf import default
        CONF.register_cli_opts([o for o in default.opts if o.name == 'state_path'])
        _log_registered = True
    CONF(cli_args(argv), project='minova', version=VERSION,
         default_config_files=default_config_files)
    if CONF.concurrency_backend != BACKEND:
        # The backend was chosen before the config was parsed; keep them equal.
        CONF.set_override('concurrency_backend', BACKEND)
    logging.setup(CONF, 'minova')
    logging.getLogger(__name__).info('mini-Nova %s, concurrency backend: %s%s', VERSION,
                                     BACKEND, _patched())


def _patched() -> str:
    if BACKEND != 'eventlet':
        return ''
    import eventlet.patcher
    return ' (monkey patched)' if eventlet.patcher.is_monkey_patched('thread') else \
        ' (NOT monkey patched)'


# Young collections after this many new container objects, not CPython's
# 700. A select at 1,000 hosts makes tens of thousands of short-lived dicts
# and lists; at 700 they set off some twenty young collections a boot, and
# the older ones they lead to walk what ten concurrent requests hold (5 ms
# of CPU a boot at 1,000 hosts, 0.7 ms with this threshold). Cyclic garbage
# waits a little longer for its collection; what is not cyclic is freed as
# before, when its last reference goes.
GC_FIRST_THRESHOLD = 20000


def tune_gc() -> None:
    """Once the services are up: what is alive now (modules, configuration,
    the databases' metadata, routes...) lives as long as the process and is
    moved out of the collector's view (gc.freeze), so that full collections
    walk only what was made since (at 1,000 hosts one such collection took as
    long as several select_destinations); and young collections come less
    often (GC_FIRST_THRESHOLD)."""
    gc.set_threshold(GC_FIRST_THRESHOLD, *gc.get_threshold()[1:])
    gc.freeze()


def wait_for_signal(stop: Callable[[], None]) -> None:
    """Tune the collector (tune_gc), block until SIGINT/SIGTERM, then call
    stop()."""
    tune_gc()
    done = threading.Event()

    def handler(signum: int, frame: object) -> None:
        done.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    while not done.wait(1.0):
        pass
    stop()
