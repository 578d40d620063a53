"""minova-metadata-forward: one guest's HTTP request to the metadata service,
read on stdin and answered on stdout, with the signed headers that name
that guest added (X-Instance-ID, X-Instance-ID-Signature, X-Tenant-ID).

Meant to be run per connection by QEMU's slirp (`guestfwd=tcp:169.254.169.254:80-
cmd:minova-metadata-forward ...`), so it needs no secret: the compute host
signs the instance id when it writes the guest's definition. Headers of these
names that the guest sends itself are dropped. One request per connection.

    minova-metadata-forward --instance-id UUID --tenant-id PROJECT \\
        --signature HEX --url http://127.0.0.1:8775
"""
from __future__ import annotations

import argparse
import http.client
import sys
from typing import BinaryIO
from urllib.parse import urlsplit

SIGNED = ('x-instance-id', 'x-instance-id-signature', 'x-tenant-id', 'x-forwarded-for')
MAX_BODY = 64 * 1024
REASONS = {400: 'Bad Request', 502: 'Bad Gateway'}


def _answer(out: BinaryIO, status: int, reason: str, body: bytes,
            content_type: str = 'text/plain; charset=utf-8') -> None:
    out.write(f'HTTP/1.0 {status} {reason}\r\nContent-Type: {content_type}\r\n'
              f'Content-Length: {len(body)}\r\nConnection: close\r\n\r\n'.encode('latin-1'))
    out.write(body)
    out.flush()


def forward(inp: BinaryIO, out: BinaryIO, url: str, instance_id: str, tenant_id: str,
            signature: str, timeout: float = 30.0) -> None:
    line = inp.readline(8192).decode('latin-1').strip()
    parts = line.split()
    if len(parts) != 3 or not parts[1].startswith('/'):
        _answer(out, 400, 'Bad Request', b'Bad request line.')
        return
    method, path = parts[0], parts[1]
    headers: dict[str, str] = {}
    for _ in range(100):
        raw = inp.readline(8192).decode('latin-1')
        if raw in ('', '\r\n', '\n'):
            break
        name, _sep, value = raw.partition(':')
        if name.strip().lower() in SIGNED or name.strip().lower() in (
                'host', 'connection', 'content-length', 'transfer-encoding'):
            if name.strip().lower() == 'content-length':
                headers['Content-Length'] = value.strip()
            continue
        headers[name.strip()] = value.strip()
    length = int(headers.get('Content-Length', '0') or 0) if headers.get(
        'Content-Length', '0').isdigit() else 0
    body = inp.read(min(length, MAX_BODY)) if length else b''
    headers['Content-Length'] = str(len(body))
    headers.update({'X-Instance-ID': instance_id, 'X-Instance-ID-Signature': signature,
                    'X-Tenant-ID': tenant_id})
    target = urlsplit(url)
    conn = http.client.HTTPConnection(target.hostname or '127.0.0.1', target.port or 80,
                                      timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
    except OSError as e:
        _answer(out, 502, 'Bad Gateway', f'Metadata service unreachable: {e}'.encode())
        return
    finally:
        conn.close()
    _answer(out, resp.status, resp.reason, data,
            resp.getheader('Content-Type') or 'text/plain; charset=utf-8')


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog='minova-metadata-forward', description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--instance-id', required=True)
    p.add_argument('--tenant-id', required=True)
    p.add_argument('--signature', required=True)
    p.add_argument('--url', default='http://127.0.0.1:8775')
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    forward(sys.stdin.buffer, sys.stdout.buffer, args.url, args.instance_id,
            args.tenant_id, args.signature)


if __name__ == '__main__':
    main()
