"""minova/db/mysql.py: PyMySQL connections without per-connection TLS contexts,
and cryptography imported only when an RSA password exchange needs it."""
from __future__ import annotations

import ssl
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip('pymysql')

from minova.db import engines, mysql  # noqa: E402


def _conn(**kwargs: object) -> mysql.Connection:
    return mysql.Connection(host='127.0.0.1', user='root', defer_connect=True, **kwargs)


def test_preferred_tls_context_is_built_once_and_only_when_used() -> None:
    a, b = _conn(), _conn()
    if not getattr(a, 'ssl', False):
        pytest.skip('this PyMySQL does not prefer TLS')
    assert a._minova_ctx is None  # nothing built at connect time
    ctx = a.ctx
    assert isinstance(ctx, ssl.SSLContext)
    assert ctx.verify_mode == ssl.CERT_NONE and not ctx.check_hostname  # PyMySQL's own
    assert b.ctx is ctx


def test_explicit_tls_options_keep_their_own_context() -> None:
    conn = _conn(ssl={'ca': None, 'check_hostname': False, 'verify_mode': False})
    assert isinstance(conn.ctx, ssl.SSLContext)
    assert conn.ctx is not _conn().ctx


def test_disabled_tls_builds_nothing() -> None:
    conn = _conn(ssl_disabled=True)
    assert not conn.ssl
    assert conn._minova_ctx is None


def test_engines_hand_sqlalchemy_these_connections() -> None:
    from sqlalchemy import event
    engine = engines._create_engine('mysql://root@127.0.0.1:1/none')
    assert event.contains(engine, 'do_connect', engines._connect_pymysql)
    engine.dispose()


def test_cryptography_waits_for_an_rsa_exchange() -> None:
    pytest.importorskip('cryptography')
    code = textwrap.dedent('''
        import sys
        from minova.db import mysql
        from pymysql import _auth
        assert 'cryptography' not in sys.modules, 'imported eagerly'
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.hazmat.primitives import serialization
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        sealed = _auth.sha2_rsa_encrypt(b'secret', b'0123456789abcdefghij', pem)
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding
        plain = key.decrypt(sealed, padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA1()),
                                                 algorithm=hashes.SHA1(), label=None))
        assert plain == _auth._xor_password(b'secret\\0', b'0123456789abcdefghij'), plain
        print('ok')
    ''')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == 'ok'
