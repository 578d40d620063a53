"""Imports a service may never use, deferred until it does.

`defer_charset_detection()` runs first in every console script
(minova/cmd/__init__.py). requests imports charset_normalizer to read its
version, and charset_normalizer imports every codec Python has to list the
encodings it can detect: about 120 modules, 3.5 MiB in each service that
reaches keystoneauth1 (all of them). requests calls it only to guess the
encoding of a text response that names none (`Response.apparent_encoding`);
keystoneauth1 reads JSON. Until then a stand-in module answers with the
version; the first other attribute asked of it imports the real module.
"""
from __future__ import annotations

import importlib
import sys
import threading
import types
from typing import Any

_lock = threading.Lock()


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


def defer(name: str, dist: str) -> bool:
    """Put a stand-in for module `name` (distribution `dist`) in sys.modules,
    unless it is imported already or not installed. True if deferred."""
    if name in sys.modules:
        return False
    import importlib.metadata
    import importlib.util
    try:
        spec = importlib.util.find_spec(name)
        version = importlib.metadata.version(dist)
    except (ImportError, ValueError, importlib.metadata.PackageNotFoundError):
        return False
    if spec is None:
        return False
    stub = _Deferred(name)
    stub.__version__ = version  # type: ignore[attr-defined]
    stub.__file__ = spec.origin
    stub.__spec__ = spec
    stub.__loader__ = spec.loader
    if spec.submodule_search_locations is not None:
        # A package: `from name import x` and submodule imports find it one.
        stub.__path__ = list(spec.submodule_search_locations)
    sys.modules[name] = stub
    return True


def defer_charset_detection() -> None:
    defer('charset_normalizer', 'charset-normalizer')
