"""PyMySQL, without the memory it spends on things a connection may never use.

Two costs of PyMySQL, both paid by every service that talks to MySQL:

- **A TLS context per connection.** With no TLS options in the URL, PyMySQL
  (1.2.4 here) prefers TLS: each new connection builds its own SSLContext,
  loading the system CA bundle into it (about 0.8 MiB of OpenSSL heap),
  and keeps it as long as the connection lives, whether the server offers
  TLS or not. A conductor holding 26 pooled connections held 20 MiB of
  them. Here that context is built once per process, and only when a
  server offers TLS; the connection is the same either way (still TLS when
  offered, with PyMySQL's settings: no certificate checks).
- **cryptography on import.** `pymysql._auth` imports cryptography (about
  6 MiB: a Rust extension with its own OpenSSL) for the RSA exchange of
  `sha256_password`/`caching_sha2_password` over plain TCP. It is now
  imported the first time that exchange happens.

And one round trip: a ROLLBACK when there is nothing to roll back.
SQLAlchemy's pool rolls back each connection given back to it, after a
writer's COMMIT too, and every read ends with one (see engines.py): here a
connection sends it only if something was sent since its last COMMIT or
ROLLBACK, and the server does not say (autocommit, no transaction open)
that there is no transaction.

`connect()` is what engines.py hands SQLAlchemy for mysql+pymysql URLs.
"""
from __future__ import annotations

import importlib.abc
import importlib.util
import sys
import threading
from typing import Any

_lock = threading.Lock()


class _DeferCryptography(importlib.abc.MetaPathFinder):
    """Makes `cryptography` unimportable, in one thread only, while PyMySQL's
    auth module loads (other threads importing it meanwhile are unaffected)."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if threading.get_ident() == self.thread and name.partition('.')[0] == 'cryptography':
            raise ModuleNotFoundError(f'{name} deferred', name=name)
        return None


def _import_auth() -> None:
    if 'pymysql._auth' in sys.modules or 'cryptography' in sys.modules:
        import pymysql  # noqa: F401 - cryptography is loaded already: nothing to save
        return
    blocker = _DeferCryptography()
    sys.meta_path.insert(0, blocker)
    try:
        import pymysql  # noqa: F401 - imports pymysql._auth
    finally:
        sys.meta_path.remove(blocker)
    from pymysql import _auth
    if getattr(_auth, '_have_cryptography', True) or \
            importlib.util.find_spec('cryptography') is None:
        return
    eager = _auth.sha2_rsa_encrypt

    def sha2_rsa_encrypt(*args: Any, **kwargs: Any) -> Any:
        from cryptography.hazmat.backends import default_backend
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding
        _auth.default_backend = default_backend
        _auth.hashes = hashes
        _auth.serialization = serialization
        _auth.padding = padding
        _auth._have_cryptography = True
        _auth.sha2_rsa_encrypt = eager
        return eager(*args, **kwargs)

    _auth.sha2_rsa_encrypt = sha2_rsa_encrypt


with _lock:
    _import_auth()

from pymysql import connections  # noqa: E402 - after the deferral above
from pymysql.constants import SERVER_STATUS  # noqa: E402

_preferred_ctx: Any = None


_AUTOCOMMIT = SERVER_STATUS.SERVER_STATUS_AUTOCOMMIT
_IN_TRANS = SERVER_STATUS.SERVER_STATUS_IN_TRANS


def _rollback_needed(conn: connections.Connection) -> bool:
    """False when the server said (in its last OK packet) that the session is
    in autocommit with no transaction open: a ROLLBACK would do nothing. In
    autocommit only BEGIN opens a transaction and its OK packet says so; a
    SELECT's result does not update the status, which is why the shortcut
    holds only in autocommit (there a SELECT leaves no transaction open)."""
    status = conn.server_status
    return status is None or not status & _AUTOCOMMIT or bool(status & _IN_TRANS)


class Connection(connections.Connection):
    """A PyMySQL connection sharing one lazily built TLS context for its
    preferred (opportunistic) TLS."""

    _minova_ctx: Any = None
    _minova_preferred = False

    def _create_ssl_ctx(self, sslp: Any) -> Any:
        if sslp == {}:  # the preferred-TLS default: built when first used
            self._minova_preferred = True
            return None
        return super()._create_ssl_ctx(sslp)

    @property
    def ctx(self) -> Any:
        global _preferred_ctx
        if self._minova_ctx is None and self._minova_preferred:
            with _lock:
                if _preferred_ctx is None:
                    _preferred_ctx = super()._create_ssl_ctx({})
            self._minova_ctx = _preferred_ctx
        return self._minova_ctx

    @ctx.setter
    def ctx(self, value: Any) -> None:
        self._minova_ctx = value

    # Nothing was sent since a COMMIT or ROLLBACK ended the transaction.
    _minova_ended = False

    def _execute_command(self, command: int, sql: Any) -> Any:
        self._minova_ended = False
        return super()._execute_command(command, sql)

    def commit(self) -> None:
        super().commit()
        self._minova_ended = True

    def rollback(self) -> None:
        # SQLAlchemy's pool rolls back every connection given back: after a
        # writer's COMMIT, and after every read (engines.get_read_engine). No
        # round trip when there is nothing to roll back.
        if self._minova_ended or not _rollback_needed(self):
            return
        super().rollback()
        self._minova_ended = True


def connect(*args: Any, **kwargs: Any) -> Connection:
    return Connection(*args, **kwargs)
