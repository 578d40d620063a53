"""The metadata service's WSGI application (minova-api-metadata, :8775).

It answers the instance that asks, in the OpenStack layout (/openstack/...)
and the EC2 one (/latest/meta-data/..., /2009-04-04/...). The documents come
from minova/metadata/base.py, as the config drive's do.

The asking instance is named by X-Instance-ID, signed in
X-Instance-ID-Signature (hex HMAC-SHA256 of the id keyed with [neutron]
metadata_proxy_shared_secret) and X-Tenant-ID, as a proxy in front of the
service (Neutron's metadata agent, or the libvirt driver's per-guest
metadata socket, minova/metadata/relay.py) sends them. A missing header is
a 400, a wrong signature a 403, an unknown instance or a tenant that is not
the instance's a 404, as in Nova.
That is the only way with [neutron] service_metadata_proxy = true, and
without Neutron. With Neutron and service_metadata_proxy = false (Nova's
default) the instance is the one whose port holds the request's address
(minova/metadata/by_address.py), as Nova finds it.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

import falcon

from minova import exception
from minova.conf import CONF
from minova.db.instances import Instance
from minova.metadata import base, by_address
from minova.wsgi import access_log

LOG = logging.getLogger(__name__)

TEXT = 'text/plain; charset=utf-8'
JSON = 'application/json'

# The guest's encrypted password: at most this many bytes, kept in system
# metadata password_0..3 of 255 characters each (as os-server-password reads).
PASSWORD_CHUNKS = 4
PASSWORD_CHUNK = 255
MAX_PASSWORD = PASSWORD_CHUNKS * PASSWORD_CHUNK


class HTTPError(Exception):
    def __init__(self, status: str, message: str = '') -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def sign(instance_id: str) -> str:
    """The X-Instance-ID-Signature of instance_id with the configured secret."""
    secret = CONF.neutron.metadata_proxy_shared_secret or ''
    return hmac.new(secret.encode(), instance_id.encode(), hashlib.sha256).hexdigest()


def _compute_api() -> Any:
    from minova.api import util
    return util.compute_api()


def _ctx() -> Any:
    from minova import context
    return context.get_admin_context()


def identify(req: falcon.Request) -> Instance:
    """The asking instance; HTTPError otherwise."""
    from minova.network import is_neutron
    if CONF.neutron.service_metadata_proxy or not is_neutron():
        return _by_signed_id(req)
    if req.get_header('X-Instance-ID') is not None:
        LOG.warning("X-Instance-ID present in request headers. The 'service_metadata_proxy' "
                    'option must be enabled to process this header.')
    try:
        instance_id = by_address.instance_id(req)
    except Exception:
        LOG.exception('Failed to get metadata for IP %s', by_address.source_address(req))
        raise HTTPError(falcon.HTTP_500, 'An unknown error has occurred. '
                        'Please try your request again.') from None
    if instance_id is None:
        raise HTTPError(falcon.HTTP_404)
    return _instance(instance_id)


def _instance(instance_id: str) -> Instance:
    try:
        instance = _compute_api().get(_ctx(), instance_id)
    except exception.InstanceNotFound:
        raise HTTPError(falcon.HTTP_404) from None
    if instance.get('cell_uuid') is None or instance.get('cell_down'):
        raise HTTPError(falcon.HTTP_404)  # still building, or its cell is down
    return instance


def _by_signed_id(req: falcon.Request) -> Instance:
    """The instance the signed headers name."""
    instance_id = req.get_header('X-Instance-ID')
    signature = req.get_header('X-Instance-ID-Signature')
    tenant_id = req.get_header('X-Tenant-ID')
    if instance_id is None:
        raise HTTPError(falcon.HTTP_400, 'X-Instance-ID header is missing from request.')
    if signature is None:
        raise HTTPError(falcon.HTTP_400,
                        'X-Instance-ID-Signature header is missing from request.')
    if tenant_id is None:
        raise HTTPError(falcon.HTTP_400, 'X-Tenant-ID header is missing from request.')
    if not CONF.neutron.metadata_proxy_shared_secret:
        LOG.warning('Metadata request refused: [neutron] metadata_proxy_shared_secret '
                    'is not set')
        raise HTTPError(falcon.HTTP_403, 'Invalid proxy request signature.')
    if not hmac.compare_digest(sign(instance_id), signature):
        LOG.warning('X-Instance-ID-Signature: %s does not match the expected value '
                    'for instance %s from %s', signature, instance_id, req.remote_addr)
        raise HTTPError(falcon.HTTP_403, 'Invalid proxy request signature.')
    instance = _instance(instance_id)
    if instance.get('project_id') != tenant_id:
        LOG.warning('Tenant ID %s does not match instance %s', tenant_id, instance_id)
        raise HTTPError(falcon.HTTP_404)
    return instance


def _text(value: str | bytes) -> tuple[bytes, str]:
    return (value if isinstance(value, bytes) else value.encode()), TEXT


def _listing(names: list[str]) -> tuple[bytes, str]:
    return _text('\n'.join(names))


def _password(req: falcon.Request, instance: Instance) -> tuple[bytes, str]:
    sysmeta = dict(instance.get('system_metadata') or {})
    current = ''.join(sysmeta.get(f'password_{i}', '') for i in range(PASSWORD_CHUNKS))
    if req.method == 'GET':
        return _text(current)
    if req.method != 'POST':
        raise HTTPError(falcon.HTTP_400)
    if current:
        raise HTTPError(falcon.HTTP_409, 'Password already set.')
    if (req.content_length or 0) > MAX_PASSWORD:
        raise HTTPError(falcon.HTTP_400, 'Request is too large.')
    data = req.bounded_stream.read(MAX_PASSWORD + 1)
    if len(data) > MAX_PASSWORD:
        raise HTTPError(falcon.HTTP_400, 'Request is too large.')
    password = data.decode(errors='replace')
    sysmeta.update({f'password_{i}': password[i * PASSWORD_CHUNK:(i + 1) * PASSWORD_CHUNK]
                    for i in range(PASSWORD_CHUNKS)})
    _compute_api().update(_ctx(), instance, {'system_metadata': sysmeta})
    return _text('')


def _openstack(req: falcon.Request, parts: list[str]) -> tuple[bytes, str]:
    """/openstack[/<version>[/<file>]]."""
    if not parts:
        return _listing(base.OPENSTACK_VERSIONS + ['latest'])
    version = base.os_version(parts[0])
    if version is None or len(parts) > 2:
        raise HTTPError(falcon.HTTP_404)
    instance = identify(req)
    if len(parts) == 1:
        return _listing(base.openstack_listing(instance, version))
    name = parts[1]
    if name not in base.openstack_listing(instance, version):
        raise HTTPError(falcon.HTTP_404)
    if name == base.PASS_NAME:
        return _password(req, instance)
    content = base.openstack_files(instance, version)[name]
    return content, (TEXT if name == base.UD_NAME else JSON)


def _ec2_node(node: Any, parts: list[str]) -> tuple[bytes, str]:
    for part in parts:
        if not isinstance(node, dict) or part not in node or part == '_name':
            raise HTTPError(falcon.HTTP_404)
        node = node[part]
    if isinstance(node, dict):
        names = []
        for key, value in node.items():
            if key == '_name':
                continue
            if isinstance(value, dict):
                names.append(value.get('_name') or f'{key}/')
            else:
                names.append(key)
        return _listing(names)
    if isinstance(node, list):
        return _listing([str(v) for v in node])
    return _text(str(node))


def _ec2(req: falcon.Request, version: str, parts: list[str]) -> tuple[bytes, str]:
    """/<ec2 version>[/meta-data/...|/user-data]."""
    instance = identify(req)
    user_data = base.user_data(instance)
    if not parts:
        return _listing(['meta-data/'] + (['user-data'] if user_data is not None else []))
    if parts[0] == 'user-data' and len(parts) == 1:
        if user_data is None:
            raise HTTPError(falcon.HTTP_404)
        return _text(user_data)
    if parts[0] != 'meta-data':
        raise HTTPError(falcon.HTTP_404)
    return _ec2_node(base.ec2_meta_data(instance), parts[1:])


def route(req: falcon.Request) -> tuple[bytes, str]:
    parts = [p for p in req.path.split('/') if p]
    if req.method not in ('GET', 'HEAD') and parts[-1:] != [base.PASS_NAME]:
        raise HTTPError(falcon.HTTP_405)
    if not parts:
        return _listing(base.EC2_VERSIONS + ['latest'])
    if parts[0] == 'openstack':
        return _openstack(req, parts[1:])
    if parts[0] == 'latest' or parts[0] in base.EC2_VERSIONS:
        return _ec2(req, parts[0], parts[1:])
    raise HTTPError(falcon.HTTP_404)


def _sink(req: falcon.Request, resp: falcon.Response, **_kw: Any) -> None:
    try:
        body, content_type = route(req)
    except HTTPError as e:
        resp.status = e.status
        resp.content_type = TEXT
        resp.data = (e.message or e.status).encode()
        return
    resp.content_type = content_type
    resp.data = body


def make_falcon_app() -> falcon.App:
    app = falcon.App(media_type=JSON)
    app.req_options.strip_url_path_trailing_slash = False
    app.add_sink(_sink, '/')
    return app


def make_app() -> Any:
    """The WSGI application for minova-api-metadata."""
    return access_log.AccessLog(make_falcon_app(), 'minova.metadata.access')
