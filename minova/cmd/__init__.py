"""Console scripts. Importing this package picks the concurrency backend first.

eventlet must monkey patch before anything else imports threading or
socket, so the choice is read here, ahead of oslo.config: from the
MINOVA_CONCURRENCY_BACKEND environment variable, else from
`concurrency_backend` in the config files named on the command line (or
/etc/minova/minova.conf).
"""
import configparser
import os
import sys
import warnings

from minova import lean

lean.defer_unused()


def _backend_from_config() -> str | None:
    files = []
    argv = sys.argv[1:]
    for i, arg in enumerate(argv):
        if arg == '--config-file' and i + 1 < len(argv):
            files.append(argv[i + 1])
        elif arg.startswith('--config-file='):
            files.append(arg.split('=', 1)[1])
    if not files and os.path.exists('/etc/minova/minova.conf'):
        files.append('/etc/minova/minova.conf')
    backend = None
    for path in files:
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            parser.read(path)
        except configparser.Error:
            continue
        backend = parser.defaults().get('concurrency_backend', backend)
    return backend


BACKEND = os.environ.get('MINOVA_CONCURRENCY_BACKEND') or _backend_from_config() or 'threading'

if BACKEND == 'eventlet':
    import eventlet

    eventlet.monkey_patch()
elif 'eventlet' not in sys.modules:
    # oslo.messaging imports oslo.service, which loads a concurrency backend
    # on import (eventlet unless told otherwise), and futurist imports
    # eventlet when it can. Neither is used on threads; keeping them out
    # saves about 10 MiB (eventlet, greenlet, dnspython) in every process.
    # The threading backend itself (cotyledon, futurist, multiprocessing:
    # 3 MiB) loads when oslo.service is first asked for it, so placement,
    # which has no RPC, never loads it.
    from oslo_service import backend as _oslo_backend

    if _oslo_backend.get_backend_type() is None:
        sys.modules['eventlet'] = None  # type: ignore[assignment]
        if hasattr(_oslo_backend, 'register_backend_default_hook'):
            _oslo_backend.register_backend_default_hook(
                lambda: _oslo_backend.BackendType.THREADING)
        else:
            _oslo_backend.init_backend(_oslo_backend.BackendType.THREADING)

lean.forget_entry_points()

# oslo.messaging imports oslo.service's eventlet helpers even when they go
# unused; their deprecation notices would greet every operator command.
warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')
warnings.filterwarnings('ignore', category=DeprecationWarning, module='oslo_service')
warnings.filterwarnings('ignore', category=DeprecationWarning, module='oslo_utils')
