"""Compiled JSON-schema validators, one per schema, for both REST APIs.

`jsonschema.validate()` checks the schema itself on every call, which cost
more than checking the body: a quarter of placement's CPU time on
`PUT /allocations/{consumer}` (py-spy). Each schema is checked and compiled
once here; schemas are module constants, so they are keyed by identity.
"""
from __future__ import annotations

import threading
from typing import Any

import jsonschema

_MAX = 1024
_cache: dict[tuple[int, int], tuple[dict[str, Any], Any]] = {}
_lock = threading.Lock()


def validator_for(schema: dict[str, Any], format_checker: Any = None,
                  default: Any = jsonschema.Draft4Validator) -> Any:
    """The compiled validator of `schema` (its class chosen by `$schema`)."""
    key = (id(schema), id(format_checker))
    hit = _cache.get(key)
    if hit is not None and hit[0] is schema:
        return hit[1]
    cls = jsonschema.validators.validator_for(schema, default=default)
    cls.check_schema(schema)
    validator = cls(schema, format_checker=format_checker)
    with _lock:
        if len(_cache) >= _MAX:  # schemas built per request would otherwise pile up
            _cache.clear()
        # The schema is kept alive with its validator, so its id stays its own.
        _cache[key] = (schema, validator)
    return validator
