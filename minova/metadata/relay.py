"""One guest's HTTP requests to the metadata service, relayed with the signed
headers that name that guest (X-Instance-ID, X-Instance-ID-Signature,
X-Tenant-ID) in place of any the guest sent.

The libvirt driver's per-guest metadata socket (minova/virt/libvirt/
metadata_socket.py) feeds it the byte stream QEMU's slirp forwards from the
guest's connections to 169.254.169.254:80. That stream has no end between
two guest connections (slirp tells the socket nothing when the guest closes),
so requests are read one after the other, each answered with a
Content-Length and `Connection: close`: an HTTP client reads the answer and
closes. The identity comes from the socket, never from the stream: a guest
can only ever be answered as itself.
"""
from __future__ import annotations

import http.client
from typing import BinaryIO
from urllib.parse import urlsplit

from minova.metadata.wsgi import sign

# Headers the guest may not set: the relay's own, and the framing it redoes.
DROPPED = ('x-instance-id', 'x-instance-id-signature', 'x-tenant-id', 'x-forwarded-for',
           'host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive')
MAX_BODY = 64 * 1024
MAX_LINE = 8192


def _answer(out: BinaryIO, status: int, reason: str, body: bytes,
            content_type: str = 'text/plain; charset=utf-8') -> None:
    out.write(f'HTTP/1.0 {status} {reason}\r\nContent-Type: {content_type}\r\n'
              f'Content-Length: {len(body)}\r\nConnection: close\r\n\r\n'.encode('latin-1'))
    out.write(body)
    out.flush()


def relay_one(inp: BinaryIO, out: BinaryIO, url: str, instance_id: str, tenant_id: str,
              timeout: float = 30.0) -> bool:
    """Read one request from inp, answer it on out. False: the stream ended,
    or was not HTTP (answered 400): the caller closes it (QEMU reconnects)."""
    line = b''
    for _ in range(8):              # blank lines between requests are tolerated
        line = inp.readline(MAX_LINE)
        if line.strip() or not line:
            break
    if not line:
        return False
    parts = line.decode('latin-1').split()
    if len(parts) != 3 or not parts[1].startswith('/') or not parts[2].startswith('HTTP/'):
        _answer(out, 400, 'Bad Request', b'Bad request line.')
        return False
    method, path = parts[0], parts[1]
    headers: dict[str, str] = {}
    length = 0
    for _ in range(100):
        raw = inp.readline(MAX_LINE).decode('latin-1')
        if raw in ('', '\r\n', '\n'):
            break
        name, sep, value = raw.partition(':')
        name, value = name.strip(), value.strip()
        if not sep or not name:
            _answer(out, 400, 'Bad Request', b'Bad header line.')
            return False
        if name.lower() == 'content-length':
            if not value.isdigit() or int(value) > MAX_BODY:
                _answer(out, 400, 'Bad Request', b'Bad Content-Length.')
                return False
            length = int(value)
        elif name.lower() == 'transfer-encoding':
            _answer(out, 400, 'Bad Request', b'Chunked requests are not supported.')
            return False
        elif name.lower() not in DROPPED:
            headers[name] = value
    body = inp.read(length) if length else b''
    if len(body) < length:
        return False
    headers.update({'Content-Length': str(len(body)), 'X-Instance-ID': instance_id,
                    'X-Instance-ID-Signature': sign(instance_id), 'X-Tenant-ID': tenant_id})
    target = urlsplit(url)
    conn = http.client.HTTPConnection(target.hostname or '127.0.0.1', target.port or 80,
                                      timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
    except OSError as e:
        _answer(out, 502, 'Bad Gateway', f'Metadata service unreachable: {e}'.encode())
        return True
    finally:
        conn.close()
    _answer(out, resp.status, resp.reason, b'' if method == 'HEAD' else data,
            resp.getheader('Content-Type') or 'text/plain; charset=utf-8')
    return True
