"""Loaded by every Python the tests start (tests/conftest.py puts this
directory on PYTHONPATH): in the `openstack` and `nova` command-line
clients only, `--wait` and `--poll` look at the server every 0.25 s instead
of every 5 s (osc-lib, novaclient) or 2 s (openstacksdk). The same requests,
the same end states; a test's `--wait` no longer sleeps up to 5 s past the
moment the server got there. Anything else (services, tools) is untouched.
"""
from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:   # every process the tests start imports this: stay light
    from collections.abc import Callable
    from typing import Any

POLL = 0.25


def _patch_openstack() -> None:
    from osc_lib import utils
    for fn in (utils.wait_for_status, utils.wait_for_delete):
        names = fn.__code__.co_varnames[:fn.__code__.co_argcount]
        defaults = list(fn.__defaults__ or ())
        at = names.index('sleep_time') - (len(names) - len(defaults))
        defaults[at] = POLL
        fn.__defaults__ = tuple(defaults)
    from openstack import resource
    for name in ('wait_for_status', 'wait_for_delete'):
        setattr(resource, name, _with_interval(getattr(resource, name)))


def _with_interval(original: Callable[..., Any]) -> Callable[..., Any]:
    """openstacksdk's waits, called by its proxies with their own default."""
    import inspect
    signature = inspect.signature(original)

    def wait(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        bound.arguments['interval'] = POLL
        return original(*bound.args, **bound.kwargs)
    return wait


def _patch_nova() -> None:
    from novaclient.v2 import shell
    defaults = list(shell._poll_for_status.__defaults__ or ())
    defaults[0] = POLL   # poll_period
    shell._poll_for_status.__defaults__ = tuple(defaults)


_program = os.path.basename(sys.argv[0]) if sys.argv else ''
try:
    if _program == 'openstack':
        _patch_openstack()
    elif _program == 'nova':
        _patch_nova()
except Exception:   # noqa: BLE001 - a client without these hooks polls as it always did
    pass
