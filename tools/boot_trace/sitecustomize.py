"""Wall-clock spans of a boot's steps, in every process that imports this.

Put this directory first on PYTHONPATH of the services (for a deployment:
`PYTHONPATH=tools/boot_trace minova-deploy --state-dir DIR restart`), boot
some servers, then merge the spans with `python3 tools/boot_trace/report.py`.
Each process appends "start end pid thread label" lines to
$MINOVA_TRACE_DIR/<pid>.log (default /tmp/minova-trace). Unlike a sampling
profiler it does not stop the processes, so the timings stay those of a
real boot; it shows where a request waits (RPC, placement, the DB) as well
as where it computes.
"""
from __future__ import annotations

import builtins
import functools
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

# module -> functions (Class.method) whose calls are timed
TARGETS = {
    'minova.compute.api': ['API.create'],
    'minova.db.build_requests': ['create', 'get_many_with_specs', 'hand_over'],
    'minova.conductor.rpcapi': ['ConductorAPI.schedule_and_build_instances',
                                'ConductorAPI.instance_update', 'ConductorAPI.instance_progress'],
    'minova.conductor.manager': ['ConductorManager.schedule_and_build_instances',
                                 'ConductorManager.instance_update',
                                 'ConductorManager.instance_progress'],
    'minova.scheduler.rpcapi': ['SchedulerAPI.select_destinations'],
    'minova.scheduler.manager': ['SchedulerManager.select_destinations'],
    'minova.scheduler.host_manager': ['get_host_states'],
    'minova.scheduler.filters': ['run'],
    'minova.clients.placement': ['Client.get_allocation_candidates',
                                'Client.claim_resources'],
    'minova.db.instances': ['create', 'update', 'get'],
    'minova.compute.rpcapi': ['ComputeAPI.build_and_run_instance'],
    'minova.compute.manager': ['ComputeManager.build_and_run_instance'],
}

_dir = os.environ.get('MINOVA_TRACE_DIR', '/tmp/minova-trace')
os.makedirs(_dir, exist_ok=True)
_out = open(os.path.join(_dir, f'{os.getpid()}.log'), 'a', buffering=1)  # noqa: SIM115
_done: set[str] = set()


def _wrap(label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.time()
        try:
            return fn(*args, **kwargs)
        finally:
            _out.write(f'{start:.6f} {time.time():.6f} {os.getpid()} '
                       f'{threading.get_ident() % 10000} {label}\n')
    return timed


def _patch() -> None:
    for name, functions in TARGETS.items():
        module = sys.modules.get(name)
        if module is None or name in _done or \
                getattr(getattr(module, '__spec__', None), '_initializing', False):
            continue
        _done.add(name)
        for path in functions:
            owner: Any = module
            parts = path.split('.')
            try:
                for part in parts[:-1]:
                    owner = getattr(owner, part)
                fn = getattr(owner, parts[-1])
            except AttributeError:
                continue
            setattr(owner, parts[-1], _wrap(name.rsplit('.', 1)[-1] + '.' + path, fn))


_import = builtins.__import__


def _import_and_patch(*args: Any, **kwargs: Any) -> Any:
    module = _import(*args, **kwargs)
    if len(_done) < len(TARGETS):
        _patch()
    return module


builtins.__import__ = _import_and_patch
