"""/os-keypairs and /os-keypairs/{name}: each user's SSH (or x509) public keys."""
from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

import falcon

from minova import exception, quota
from minova.api import errors, policy, util
from minova.api.schemas import keypairs as schema
from minova.api.versioned import schema_for
from minova.api.views import keypairs as view
from minova.db import keypairs as keypairs_db
from minova.policies import keypairs as pol

INVALID_KEY = 'Keypair data is invalid: failed to generate fingerprint'


def _colon_hex(digest: bytes) -> str:
    return ':'.join(f'{b:02x}' for b in digest)


def fingerprint(public_key: str, key_type: str) -> str:
    """MD5 of the SSH key blob, or SHA-1 of the DER certificate for x509."""
    # cryptography is imported on use: it is ~6 MiB of every API worker.
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    try:
        if key_type == 'x509':
            cert = x509.load_pem_x509_certificate(public_key.encode())
            return _colon_hex(hashlib.sha1(cert.public_bytes(serialization.Encoding.DER),
                                           usedforsecurity=False).digest())
        serialization.load_ssh_public_key(public_key.strip().encode())
        blob = base64.b64decode(public_key.strip().split()[1])
        return _colon_hex(hashlib.md5(blob, usedforsecurity=False).digest())
    except (ValueError, IndexError, binascii.Error, TypeError,
            exception.MinovaException):
        raise errors.bad_request(INVALID_KEY) from None
    except Exception:  # cryptography raises UnsupportedAlgorithm and friends
        raise errors.bad_request(INVALID_KEY) from None


def generate() -> tuple[str, str]:
    """(private key PEM, public key in OpenSSH format) of a new RSA key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    return private, public + ' Generated-by-Nova\n'


# The UPN (user principal name) otherName of Microsoft's client certificates.
_UPN_OID = '1.3.6.1.4.1.311.20.2.3'
X509_DAYS = 3650


def generate_x509(user_id: str) -> tuple[str, str]:
    """(private key, certificate PEM) for WinRM certificate logins, as Nova makes
    them: a self-signed 2048-bit RSA client certificate for CN=<user_id> with the
    UPN <user_id>@localhost, valid ten years; the private key is the key and
    certificate as PKCS#12 (no password), base64-encoded."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, user_id)])
    upn = f'{user_id}@localhost'.encode()
    upn_der = bytes([0x0c]) + _der_length(len(upn)) + upn      # a DER UTF8String
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=X509_DAYS))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.OtherName(
                x509.ObjectIdentifier(_UPN_OID), upn_der)]), critical=False)
            .sign(key, hashes.SHA256()))
    bundle = pkcs12.serialize_key_and_certificates(
        None, key, cert, None, serialization.NoEncryption())
    return (base64.b64encode(bundle).decode('ascii'),
            cert.public_bytes(serialization.Encoding.PEM).decode())


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, 'big')
    return bytes([0x80 | len(body)]) + body


def _user_id(req: falcon.Request, params: dict[str, list[str]] | None = None,
             body_user: str | None = None) -> str:
    if schema_for(req, schema.TABLE).other_users:
        requested = body_user or (util.last(params, 'user_id') if params else None)
        if requested:
            return str(requested)
    return util.user_id(req)


class Keypairs:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        row = schema_for(req, schema.TABLE)
        params = util.validated_query(req, row.index_query)
        user_id = _user_id(req, params)
        policy.authorize(util.ctx(req), pol.KEYPAIRS % 'index', {'user_id': user_id})
        limit = marker = None
        if row.paging:
            limit, marker = util.limit_marker(params)
        try:
            found = keypairs_db.get_all(user_id, limit=limit, marker=marker)
        except exception.NotFound as e:
            raise errors.bad_request(e.message) from None
        body: dict[str, Any] = {'keypairs': [{'keypair': view.show(req, kp)} for kp in found]}
        if limit is not None:
            links = util.page_links(req, 'os-keypairs', found, limit, key='name')
            if links:
                body['keypairs_links'] = links
        resp.media = body

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        row = schema_for(req, schema.TABLE)
        body = util.validated_body(req, row.create)
        kp = body['keypair']
        user_id = _user_id(req, body_user=kp.get('user_id'))
        policy.authorize(util.ctx(req), pol.KEYPAIRS % 'create', {'user_id': user_id})
        key_type = kp.get('type', 'ssh')
        quota.enforce_key_pairs(user_id)
        private_key = None
        public_key = kp.get('public_key')
        if public_key is None:   # generated: before 2.92 only (the schema says so)
            private_key, public_key = (generate_x509(user_id) if key_type == 'x509'
                                       else generate())
        created = keypairs_db.create(user_id, kp['name'].strip(), public_key,
                                     fingerprint(public_key, key_type), key_type)
        out = view.show(req, created)
        out['user_id'] = user_id
        if private_key is not None:
            out['private_key'] = private_key
        resp.status = row.create_status
        resp.media = {'keypair': out}


class Keypair:
    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        params = util.validated_query(req, schema_for(req, schema.TABLE).show_query)
        user_id = _user_id(req, params)
        policy.authorize(util.ctx(req), pol.KEYPAIRS % 'show', {'user_id': user_id})
        resp.media = {'keypair': view.show(req, keypairs_db.get(user_id, name), view.FULL)}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        row = schema_for(req, schema.TABLE)
        params = util.validated_query(req, row.show_query)
        user_id = _user_id(req, params)
        policy.authorize(util.ctx(req), pol.KEYPAIRS % 'delete', {'user_id': user_id})
        keypairs_db.destroy(user_id, name)
        resp.status = row.delete_status
