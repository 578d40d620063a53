"""The server list's `name` filter: a regular expression, matched in bounded time.

Nova matches `?name=` as a regular expression (MySQL's REGEXP, PostgreSQL's
`~`, Python's `re` on SQLite). A backtracking engine takes exponential time
on patterns such as `^(a+)+$` against `aaaa...!`, and on SQLite (and for
build requests, matched in Python) that time is spent holding the GIL: one
request froze every thread of the process. Here the Python side uses RE2
(`google-re2`), which runs in time linear in the text and refuses the
constructs that need backtracking (backreferences, lookaround).

- A pattern RE2 cannot compile (invalid, backreferences, lookaround, too
  large) is matched as a literal name: `name == pattern`. Nova's own answer
  to an invalid pattern is a database error; an exact match is the useful
  reading of such a "name".
- Without the `re2` module (a broken install) every pattern is matched that
  way, and a warning says so once.
- MySQL/MariaDB and PostgreSQL match the pattern themselves, with engines
  that bound their own work (PCRE2's match limit in MariaDB, ICU's time limit
  in MySQL 8, PostgreSQL's non-backtracking engine), and release the GIL
  while they do. What RE2 accepts they may still refuse (`(?P<n>...)` on
  PostgreSQL, for one); `is_regexp_error()` recognises that error, and the
  caller runs the query again matching the literal name.
"""
from __future__ import annotations

import functools
import logging
from typing import Any

LOG = logging.getLogger(__name__)

try:
    import re2
except ImportError:  # pragma: no cover - google-re2 is a dependency
    re2 = None

_warned = False


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # an invalid pattern is the caller's, not a service error
    return options


@functools.lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> Any | None:
    """The compiled RE2 pattern, or None when it is to be matched literally."""
    global _warned
    if re2 is None:
        if not _warned:
            LOG.warning('The google-re2 package is not installed: server name filters '
                        'match names exactly instead of as regular expressions.')
            _warned = True
        return None
    try:
        return re2.compile(pattern, _options())
    except (re2.error, UnicodeEncodeError, TypeError):
        return None


def search(pattern: str, text: str | None) -> bool:
    """Whether a server named `text` passes the name filter `pattern`."""
    compiled = compile_pattern(pattern)
    if compiled is None:
        return text == pattern
    try:
        return compiled.search(text or '') is not None
    except UnicodeEncodeError:  # a name stored before the API refused lone surrogates
        return False


def sqlite_regexp(pattern: str | None, text: str | None) -> bool:
    """SQLite's REGEXP function (`text REGEXP pattern` calls regexp(pattern, text))."""
    if pattern is None or text is None:
        return False
    return search(pattern, text)


# MariaDB's ER_REGEXP_ERROR, and MySQL 8's ICU errors (ER_REGEXP_ILLEGAL_ARGUMENT
# through ER_REGEXP_PATTERN_TOO_BIG, the time limit among them).
_MYSQL_REGEXP_ERRORS = {1139, *range(3685, 3701)}
_POSTGRES_INVALID_REGULAR_EXPRESSION = '2201B'


def is_regexp_error(err: BaseException) -> bool:
    """Whether a DBAPI error is the database refusing a regular expression."""
    orig = getattr(err, 'orig', None)
    if getattr(orig, 'pgcode', None) == _POSTGRES_INVALID_REGULAR_EXPRESSION:
        return True
    args: tuple[Any, ...] = getattr(orig, 'args', ())
    return bool(args) and isinstance(args[0], int) and args[0] in _MYSQL_REGEXP_ERRORS
