"""Key pairs: per user, import and generation, microversion differences."""
from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519


def _pub() -> str:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH,
                            serialization.PublicFormat.OpenSSH).decode() + ' me@host'


def test_import_list_show_delete(user: Any, other: Any) -> None:
    pub = _pub()
    r = user.post('/os-keypairs', {'keypair': {'name': 'k.1@x', 'public_key': pub}})
    assert r.status_code == 201, r.text
    kp = r.json['keypair']
    assert kp['name'] == 'k.1@x' and kp['type'] == 'ssh' and kp['user_id'] == 'alice'
    assert len(kp['fingerprint'].split(':')) == 16 and 'private_key' not in kp
    r = user.get('/os-keypairs')
    assert r.json == {'keypairs': [{'keypair': {'name': 'k.1@x', 'public_key': pub,
                                                'fingerprint': kp['fingerprint'],
                                                'type': 'ssh'}}]}
    assert other.get('/os-keypairs').json == {'keypairs': []}
    assert other.get('/os-keypairs/k.1@x').status_code == 404
    shown = user.get('/os-keypairs/k.1@x').json['keypair']
    assert shown['user_id'] == 'alice' and shown['deleted'] is False and 'id' in shown
    r = user.post('/os-keypairs', {'keypair': {'name': 'k.1@x', 'public_key': pub}})
    assert r.status_code == 409
    assert r.json['conflictingRequest']['message'] == "Key pair 'k.1@x' already exists."
    assert user.delete('/os-keypairs/k.1@x').status_code == 204
    r = user.get('/os-keypairs/k.1@x')
    assert r.status_code == 404
    assert r.json['itemNotFound']['message'] == 'Keypair k.1@x not found for user alice'


def test_generate_before_292(user: Any) -> None:
    r = user.post('/os-keypairs', {'keypair': {'name': 'gen'}}, version='2.91')
    assert r.status_code == 201
    kp = r.json['keypair']
    assert kp['private_key'].startswith('-----BEGIN RSA PRIVATE KEY-----')
    assert kp['public_key'].startswith('ssh-rsa ')
    r = user.post('/os-keypairs', {'keypair': {'name': 'gen2'}})
    assert r.status_code == 400
    assert "'public_key' is a required property" in r.json['badRequest']['message']
    r = user.post('/os-keypairs', {'keypair': {'name': 'gen3'}}, version='2.1')
    assert r.status_code == 200 and 'type' not in r.json['keypair']
    assert user.delete('/os-keypairs/gen3', version='2.1').status_code == 202


@pytest.mark.parametrize('version', ['2.2', '2.91'])
def test_generate_x509_before_292(user: Any, version: str) -> None:
    """Nova makes a WinRM client certificate: PEM certificate as the public key,
    key and certificate as base64 PKCS#12 as the private key."""
    import base64
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12
    r = user.post('/os-keypairs', {'keypair': {'name': 'win', 'type': 'x509'}},
                  version=version)
    assert r.status_code == 201, r.text
    kp = r.json['keypair']
    assert kp['type'] == 'x509' and kp['user_id'] == 'alice'
    cert = x509.load_pem_x509_certificate(kp['public_key'].encode())
    assert cert.subject.rfc4514_string() == 'CN=alice' and cert.issuer == cert.subject
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days == 3650
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    (upn,) = san.get_values_for_type(x509.OtherName)
    assert upn.type_id.dotted_string == '1.3.6.1.4.1.311.20.2.3'
    assert upn.value == b'\x0c' + bytes([len('alice@localhost')]) + b'alice@localhost'
    digest = hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    assert kp['fingerprint'] == ':'.join(digest[i:i + 2] for i in range(0, 40, 2))
    key, bundled, _ = pkcs12.load_key_and_certificates(
        base64.b64decode(kp['private_key']), None)
    assert bundled == cert and key.public_key() == cert.public_key()
    shown = user.get('/os-keypairs/win', version=version).json['keypair']
    assert shown['public_key'] == kp['public_key'] and 'private_key' not in shown
    r = user.post('/os-keypairs', {'keypair': {'name': 'win2', 'type': 'x509'}},
                  version='2.92')
    assert r.status_code == 400
    assert "'public_key' is a required property" in r.json['badRequest']['message']


def test_bad_key_and_name(user: Any) -> None:
    r = user.post('/os-keypairs', {'keypair': {'name': 'k', 'public_key': 'garbage'}})
    assert r.status_code == 400
    assert r.json['badRequest']['message'] == \
        'Keypair data is invalid: failed to generate fingerprint'
    r = user.post('/os-keypairs', {'keypair': {'name': 'a.b', 'public_key': _pub()}},
                  version='2.91')
    assert r.status_code == 400


def test_paging_and_admin_user_id(user: Any, admin: Any) -> None:
    for i in range(3):
        user.post('/os-keypairs', {'keypair': {'name': f'k{i}', 'public_key': _pub()}})
    r = user.get('/os-keypairs?limit=2')
    assert [k['keypair']['name'] for k in r.json['keypairs']] == ['k0', 'k1']
    assert 'marker=k1' in r.json['keypairs_links'][0]['href']
    r = user.get('/os-keypairs?limit=2&marker=k1')
    assert [k['keypair']['name'] for k in r.json['keypairs']] == ['k2']
    assert admin.get('/os-keypairs').json['keypairs'] == []
    assert len(admin.get('/os-keypairs?user_id=alice').json['keypairs']) == 3
    assert user.get('/os-keypairs?user_id=bob').status_code == 403
