"""Imports a service may never use, deferred until it does.

`defer_unused()` runs first in every console script (minova/cmd/__init__.py).
Each module in DEFERRED is imported at start-up by a library that uses it
only in some function a service may never call. Until then a stand-in
module sits in sys.modules; the first attribute asked of it imports the
real module, and the stand-in then reads as the real one. Libraries that
touch the module while importing just load it as before.

RSS per service, measured after importing it with everything else it loads:

| module | imported by | used for | MiB |
| --- | --- | --- | --- |
| charset_normalizer | requests (its version) | guessing a text response's charset | 3.5 |
| rfc3986 (+ idna) | oslo.config (types) | validating URIOpt values | 0.6 |
| psutil | oslo.utils (netutils) | listing an interface's addresses | 0.5 |
| iso8601 | oslo.utils (timeutils) | parse_isotime() | 0.2 |
| yaml | oslo.policy, kombu | reading a policy file; kombu's yaml codec | 0.8 |

(charset_normalizer imports every codec Python has, to list them. kombu
registers `yaml.safe_dump` as its yaml encoder on import: the stand-in
offers a function that imports PyYAML when called.)

`forget_entry_points()` keeps stevedore from holding the parsed entry
point table of the whole environment (0.5 MiB here) after a lookup.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from typing import Any

# module -> (its distribution, when a stand-in must answer __version__
# without importing it (requests reads charset_normalizer's on import);
# functions that importers take a reference to without calling them yet).
DEFERRED: dict[str, tuple[str | None, tuple[str, ...]]] = {
    'charset_normalizer': ('charset-normalizer', ()),
    'rfc3986': (None, ()),
    'psutil': (None, ()),
    'iso8601': (None, ()),
    'yaml': (None, ('safe_dump',)),
}

_lock = threading.RLock()


class _Deferred(types.ModuleType):
    """Stands in for a module until an attribute it lacks is asked of it."""

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith('__') and attr != '__all__':
            raise AttributeError(attr)  # copy/pickle/inspect probes: no import
        return getattr(_load(self), attr)


def _load(stub: _Deferred) -> types.ModuleType:
    with _lock:
        name = stub.__name__
        if sys.modules.get(name) is stub:
            del sys.modules[name]
        try:
            real = importlib.import_module(name)
        except BaseException:
            sys.modules.setdefault(name, stub)
            raise
        # Code that kept the stand-in (requests.compat.chardet) now reads
        # the real module's attributes directly.
        stub.__dict__.update(real.__dict__)
        return real


def _forward(stub: _Deferred, attr: str) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(_load(stub), attr)(*args, **kwargs)
    call.__name__ = call.__qualname__ = attr
    return call


def defer(name: str, dist: str | None = None, calls: tuple[str, ...] = ()) -> bool:
    """Put a stand-in for module `name` in sys.modules, unless it is imported
    already or not installed. With `dist`, the stand-in answers __version__
    from that distribution's metadata; each function named in `calls` is
    one that imports the module when called. True if deferred."""
    if name in sys.modules:
        return False
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return False
    if spec is None:
        return False
    stub = _Deferred(name)
    if dist is not None:
        from importlib import metadata
        try:
            stub.__version__ = metadata.version(dist)  # type: ignore[attr-defined]
        except metadata.PackageNotFoundError:
            return False
    for attr in calls:
        setattr(stub, attr, _forward(stub, attr))
    stub.__file__ = spec.origin
    stub.__spec__ = spec
    stub.__loader__ = spec.loader
    if spec.submodule_search_locations is not None:
        # A package: `from name import x` and submodule imports find it one.
        stub.__path__ = list(spec.submodule_search_locations)
    sys.modules[name] = stub
    return True


def defer_unused() -> None:
    for name, (dist, calls) in DEFERRED.items():
        defer(name, dist, calls)


class _Unkept(dict):
    def __setitem__(self, key: Any, value: Any) -> None:
        pass


def forget_entry_points() -> None:
    """stevedore parses a cache of every entry point installed (a JSON file
    of 140 KB here) and keeps it for the next lookup. Services look plugins
    up a few times at start-up (oslo.messaging's driver, oslo.policy's
    checks); each now reads the file again instead."""
    try:
        from stevedore import _cache
    except ImportError:
        return
    cache = getattr(_cache, '_c', None)
    if isinstance(getattr(cache, '_internal', None), dict):
        cache._internal = _Unkept()  # type: ignore[union-attr]
