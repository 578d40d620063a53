"""What JSON the REST APIs accept, decided once at the edge for both of them.

`loads()` is the one place the compute API and placement decode a request
body. Besides JSON syntax it refuses, so that no handler, schema, database
or RPC serializer ever meets them:

- **text no database can store**: lone surrogates (`"\\ud800"` is valid JSON
  syntax but not Unicode; UTF-8 cannot encode it, so SQLite, MySQL and the
  response encoder all fail on it) and NUL (PostgreSQL refuses it in text),
  in any string, key or value;
- **nesting deeper than MAX_DEPTH**: a body of 100,000 `[` makes the JSON
  decoder raise RecursionError, and one a little shallower than the
  interpreter's limit would make every later walk over it (validation, error
  messages, RPC serialization) raise it instead. No request body of either
  API needs more than a handful of levels;
- **numbers that are not finite**: `NaN`, `Infinity` (Python's decoder takes
  them, JSON does not have them) and `1e400` (infinite as a float) pass every
  minimum/maximum check and then fail in the database.

Each API words the refusal in its own error format (minova/api/util.py,
minova/placement/util.py). `url_problem()` applies the same text rule to the
decoded path and query string (only NUL can arrive there: falcon decodes
percent-escapes that are not UTF-8 to U+FFFD).
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

MAX_DEPTH = 64

# Lone surrogates and NUL: the only code points a JSON string can carry that
# a UTF-8 database column cannot hold (PostgreSQL refuses NUL in text).
_BAD_TEXT = re.compile('[\x00\ud800-\udfff]')


class BadBody(ValueError):
    """The body is not acceptable JSON; `reason` says why in a sentence."""

    def __init__(self, reason: str, path: list[Any] | None = None,
                 value: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = path or []
        self.value = value


class Malformed(BadBody):
    """Not JSON at all, or nested too deep to decode."""


class BadText(BadBody):
    """JSON, but a string in it holds a code point no database can store."""


def printable(text: str) -> str:
    """`text` with lone surrogates written as \\udXXX escapes (safe to encode)."""
    return text.encode('utf-8', 'backslashreplace').decode('utf-8')


def bad_char(text: str) -> str | None:
    """Why `text` cannot be stored, or None when it can."""
    found = _BAD_TEXT.search(text)
    if found is None:
        return None
    char = found.group()
    if char == '\x00':
        return 'NUL characters (U+0000) are not allowed in text.'
    return (f'Lone surrogates (U+{ord(char):04X}) are not valid Unicode text; '
            'encode characters outside the Basic Multilingual Plane as surrogate pairs.')


def _no_constant(name: str) -> Any:
    raise ValueError(f'{name} is not a JSON number')


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f'number {text[:40]} is out of range')
    return value


def loads(raw: bytes | str) -> Any:
    """The decoded body; raise Malformed or BadText (see the module doc)."""
    try:
        data = json.loads(raw, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise Malformed(f'JSON nested deeper than {MAX_DEPTH} levels') from None
    except (ValueError, UnicodeDecodeError) as e:
        raise Malformed(str(e)) from None
    if isinstance(raw, bytes):
        escapes, opens = b'\\u' in raw, raw.count(b'[') + raw.count(b'{')
    else:
        escapes, opens = '\\u' in raw, raw.count('[') + raw.count('{')
    # Both checks walk the whole body; skip the walk when the raw text shows
    # neither can fail: bad text only arrives as \u escapes (raw surrogates
    # are invalid UTF-8 and raw NULs invalid JSON), and depth needs brackets.
    if escapes or opens > MAX_DEPTH:
        check(data)
    return data


def check(data: Any) -> None:
    """Raise Malformed (too deep) or BadText for a decoded body; iterative, so
    that it cannot itself run out of stack."""
    stack: list[tuple[Any, list[Any]]] = [(data, [])]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict | list) and len(path) >= MAX_DEPTH:
            raise Malformed(f'JSON nested deeper than {MAX_DEPTH} levels')
        if isinstance(node, str):
            reason = bad_char(node)
            if reason:
                raise BadText(reason, path, node)
        elif isinstance(node, dict):
            for key, value in node.items():
                reason = bad_char(key)
                if reason:
                    raise BadText(reason, [*path, key], key)
                stack.append((value, [*path, key]))
        elif isinstance(node, list):
            stack.extend((value, [*path, i]) for i, value in enumerate(node))


def url_problem(path: str, params: Mapping[str, Any]) -> str | None:
    """Why the decoded path or query string cannot be used, or None."""
    for text in (path, *params):
        reason = bad_char(text)
        if reason:
            return reason
    for value in params.values():
        for text in value if isinstance(value, list) else [value]:
            reason = bad_char(str(text))
            if reason:
                return reason
    return None
