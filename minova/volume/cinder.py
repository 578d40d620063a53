"""The Cinder REST client (v3): the calls Nova's volume API makes, through one
keystoneauth1 adapter from [cinder], with Cinder's errors turned into Nova's.

Two ways to reach Cinder, as Nova's cinderclient does:

- with [cinder] auth_type (Keystone): requests carry the caller's token (the
  request context's, with its service catalog) or, for a context without one
  (periodic tasks), the [cinder] credentials; the endpoint is the catalog's
  (catalog_info, os_region_name) unless endpoint_template says otherwise.
  Deleting an attachment also sends the [cinder] credentials' token as
  X-Service-Token, so Cinder knows Nova itself is asking.
- without (a Cinder with auth_strategy = noauth): the token is
  `<user>:<project>` of the caller and the endpoint is endpoint_template
  (%(project_id)s substituted) or endpoint_override; deleting an attachment
  carries `X-Service-Roles: service`, what keystonemiddleware would set for
  Nova's service token.

Volume attachments use the attachments API (microversion 3.44 and later).
"""
from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any, TypedDict, cast

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from keystoneauth1 import session as ks_session

from minova import exception
from minova.clients import base as client_base
from minova.conf import CONF

if TYPE_CHECKING:
    from minova.context import RequestContext

LOG = logging.getLogger(__name__)

ATTACHMENTS_MV = '3.44'     # the attachments API (create/update/complete/delete)
REIMAGE_MV = '3.68'         # os-reimage (a server's rebuild of its root volume, 2.93)
PROJECTLESS_MV = '3.67'     # /v3/volumes without a project id in the URL


class Volume(TypedDict, total=False):
    id: str
    status: str                 # available, in-use, creating, error, ...
    size: int                   # GiB
    availability_zone: str | None
    name: str | None
    description: str | None
    volume_type: str | None
    snapshot_id: str | None
    bootable: str               # 'true' / 'false', as Cinder says it
    multiattach: bool
    attachments: list[dict[str, Any]]   # [{attachment_id, server_id, device, ...}]
    encrypted: bool
    attach_status: str
    created_at: str
    metadata: dict[str, str]
    volume_image_metadata: dict[str, str]   # of a volume made from an image: image_id...


class Attachment(TypedDict, total=False):
    id: str
    volume_id: str
    instance: str | None
    status: str                 # reserved, attaching, attached, detached
    attach_mode: str
    connection_info: dict[str, Any]


class Snapshot(TypedDict, total=False):
    id: str
    volume_id: str
    status: str
    size: int
    name: str | None
    description: str | None
    created_at: str


class CinderError(exception.MinovaException):
    """An error Cinder answered that has no Nova meaning of its own."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f'Cinder error ({status}): {message}')
        self.status = status
        self.reason = message
        self.code = 500 if status >= 500 else status


def _message(resp: Any) -> str:
    """Cinder's error text: its body is {"<kind>": {"code", "message"}}."""
    try:
        body = resp.json()
    except (ValueError, AttributeError):
        return ' '.join((getattr(resp, 'text', '') or '').split())[:300]
    if isinstance(body, dict) and len(body) == 1:
        inner = next(iter(body.values()))
        if isinstance(inner, dict) and 'message' in inner:
            return str(inner['message'])
    return str(body)[:300]


def is_configured() -> bool:
    from minova.conf.volume import cinder_configured
    return cinder_configured(CONF)


class Client(client_base.Client):
    """Volumes, attachments and snapshots of Cinder's v3 API."""

    _shared: Client | None = None
    _shared_lock = threading.Lock()

    def _build_adapter(self) -> ks_adapter.Adapter:
        if not is_configured():
            raise exception.VolumeServiceNotConfigured()
        group = CONF.cinder
        auth = ks_loading.load_auth_from_conf_options(CONF, 'cinder')
        if auth is None:    # noauth Cinder: the token is set per request
            sess = ks_session.Session()
        else:
            sess = ks_loading.load_session_from_conf_options(CONF, 'cinder', auth=auth)
        service_type, service_name, interface = (
            (group.catalog_info or 'volumev3::publicURL').split(':') + ['', '', ''])[:3]
        return ks_adapter.Adapter(
            sess, auth=auth, service_type=service_type or 'volumev3',
            service_name=service_name or None,
            interface=(interface or 'publicURL').replace('URL', ''),
            region_name=group.os_region_name)

    # -- plumbing -------------------------------------------------------------

    @staticmethod
    def _keystone() -> bool:
        return bool(CONF.cinder.auth_type)

    def _endpoint(self, ctx: RequestContext) -> str:
        group = CONF.cinder
        template = group.endpoint_template or group.endpoint_override
        if template:
            return str(template % {'project_id': ctx.project_id}).rstrip('/')
        try:
            auth = client_base.user_auth_plugin(ctx) if ctx.auth_token else None
            url = self.adapter.get_endpoint(auth=auth)
        except ks_exc.ClientException as e:
            raise exception.VolumeServiceUnavailable(reason=str(e)) from e
        if not url:
            raise exception.VolumeServiceUnavailable(
                reason='no volume endpoint in the service catalog')
        return str(url).rstrip('/')

    def _headers(self, ctx: RequestContext, microversion: str | None,
                 service_role: bool) -> dict[str, str]:
        headers = {'Accept': 'application/json'}
        if microversion:
            headers['OpenStack-API-Version'] = f'volume {microversion}'
        if not self._keystone():
            headers['X-Auth-Token'] = f'{ctx.user_id or "nova"}:{ctx.project_id}'
            if service_role:
                headers['X-Service-Roles'] = 'service'
        elif service_role:
            token = self.adapter.session.get_token(self.adapter.auth)
            if token:
                headers['X-Service-Token'] = token
        return headers

    def request(self, ctx: RequestContext, method: str, path: str, body: Any = None,
                microversion: str | None = None, service_role: bool = False
                ) -> tuple[int, Any]:
        """(status, decoded body or the response for an error); connection
        failures retried [cinder] http_retries times, then VolumeServiceUnavailable."""
        base = self._endpoint(ctx)
        if not _has_project(base, ctx):     # project-less URLs need 3.67 or later
            microversion = _max_mv(microversion, PROJECTLESS_MV)
        kwargs: dict[str, Any] = {'headers': self._headers(ctx, microversion, service_role)}
        if self._keystone() and ctx.auth_token:
            kwargs['auth'] = client_base.user_auth_plugin(ctx)
        elif not self._keystone():
            kwargs['authenticated'] = False
        if body is not None:
            kwargs['json'] = body
        return client_base.call_peer(
            self.adapter, base + path, method, CONF.cinder.http_retries,
            lambda reason: exception.VolumeServiceUnavailable(reason=reason), **kwargs)

    def _ok(self, ctx: RequestContext, method: str, path: str, body: Any = None,
            microversion: str | None = None, service_role: bool = False,
            volume_id: str | None = None, attachment_id: str | None = None,
            snapshot_id: str | None = None) -> Any:
        status, data = self.request(ctx, method, path, body, microversion, service_role)
        if status < 400:
            return data
        raise _translate(status, _message(data), method, path, volume_id=volume_id,
                         attachment_id=attachment_id, snapshot_id=snapshot_id)

    # -- volumes ----------------------------------------------------------------

    def get(self, ctx: RequestContext, volume_id: str) -> Volume:
        data = self._ok(ctx, 'GET', f'/volumes/{volume_id}', microversion=self._mv(ctx),
                        volume_id=volume_id)
        return _volume(data['volume'])

    def create(self, ctx: RequestContext, size: int, name: str | None,
               description: str | None, snapshot_id: str | None = None,
               image_id: str | None = None, volume_type: str | None = None,
               availability_zone: str | None = None,
               metadata: dict[str, str] | None = None) -> Volume:
        volume: dict[str, Any] = {'size': size, 'name': name, 'description': description}
        if metadata:
            volume['metadata'] = metadata
        for key, value in (('snapshot_id', snapshot_id), ('imageRef', image_id),
                           ('volume_type', volume_type),
                           ('availability_zone', availability_zone)):
            if value:
                volume[key] = value
        data = self._ok(ctx, 'POST', '/volumes', {'volume': volume},
                        microversion=self._mv(ctx), snapshot_id=snapshot_id)
        return _volume(data['volume'])

    def get_encryption_metadata(self, ctx: RequestContext, volume_id: str) -> dict[str, Any]:
        """GET /volumes/{id}/encryption: `encryption_key_id` and, for a volume
        type with an encryption spec, `provider`, `cipher`, `key_size`,
        `control_location` (Nova's get_volume_encryption_metadata)."""
        data = self._ok(ctx, 'GET', f'/volumes/{volume_id}/encryption',
                        microversion=self._mv(ctx), volume_id=volume_id)
        return dict(data or {})

    def get_all(self, ctx: RequestContext) -> list[Volume]:
        """The caller's project's volumes, in detail."""
        data = self._ok(ctx, 'GET', '/volumes/detail', microversion=self._mv(ctx))
        return [_volume(v) for v in data.get('volumes') or []]

    def delete(self, ctx: RequestContext, volume_id: str) -> None:
        self._ok(ctx, 'DELETE', f'/volumes/{volume_id}', microversion=self._mv(ctx),
                 volume_id=volume_id)

    def _action(self, ctx: RequestContext, volume_id: str, action: str,
                body: Any = None) -> Any:
        return self._ok(ctx, 'POST', f'/volumes/{volume_id}/action', {action: body or {}},
                        microversion=self._mv(ctx), volume_id=volume_id)

    def begin_detaching(self, ctx: RequestContext, volume_id: str) -> None:
        """Cinder: in-use -> detaching (a detach is under way)."""
        self._action(ctx, volume_id, 'os-begin_detaching')

    def roll_detaching(self, ctx: RequestContext, volume_id: str) -> None:
        """Cinder: detaching -> in-use (the detach failed)."""
        self._action(ctx, volume_id, 'os-roll_detaching')

    def migrate_volume_completion(self, ctx: RequestContext, old_volume_id: str,
                                  new_volume_id: str, error: bool = False) -> str:
        """A swap is over: Cinder keeps the volume id it answers."""
        data = self._action(ctx, old_volume_id, 'os-migrate_volume_completion',
                            {'new_volume': new_volume_id, 'error': error})
        return str((data or {}).get('save_volume_id') or new_volume_id)

    def reimage(self, ctx: RequestContext, volume_id: str, image_id: str,
                reimage_reserved: bool = False) -> None:
        """The volume's data replaced by the image's (os-reimage, 3.68); Cinder
        posts volume-reimaged to Nova when it is done. reimage_reserved: the
        volume may be 'reserved' (a server's rebuild holds it), as Nova asks."""
        self._ok(ctx, 'POST', f'/volumes/{volume_id}/action',
                 {'os-reimage': {'image_id': image_id,
                                 'reimage_reserved': reimage_reserved}},
                 microversion=_max_mv(self._mv(ctx), REIMAGE_MV), volume_id=volume_id)

    def extend_check(self, ctx: RequestContext, volume_id: str) -> int:
        """A volume's size in bytes now (what volume-extended grows the disk to)."""
        return int(self.get(ctx, volume_id)['size']) * 1024 ** 3

    # -- attachments (3.44) -------------------------------------------------------

    def attachment_create(self, ctx: RequestContext, volume_id: str, instance_uuid: str,
                          connector: dict[str, Any] | None = None,
                          mountpoint: str | None = None) -> Attachment:
        """Reserve the volume for the server (Cinder: 'reserved', or 'attaching'
        with a connector). An in-use or erroring volume: InvalidVolume (400)."""
        body: dict[str, Any] = {'volume_uuid': volume_id, 'instance_uuid': instance_uuid}
        if connector:
            body['connector'] = dict(connector, mountpoint=mountpoint) if mountpoint \
                else connector
        data = self._ok(ctx, 'POST', '/attachments', {'attachment': body},
                        microversion=ATTACHMENTS_MV, volume_id=volume_id)
        return _attachment(data['attachment'])

    def attachment_get(self, ctx: RequestContext, attachment_id: str) -> Attachment:
        data = self._ok(ctx, 'GET', f'/attachments/{attachment_id}',
                        microversion=ATTACHMENTS_MV, attachment_id=attachment_id)
        return _attachment(data['attachment'])

    def attachment_update(self, ctx: RequestContext, attachment_id: str,
                          connector: dict[str, Any],
                          mountpoint: str | None = None) -> Attachment:
        """The host's connector given: the answer holds the connection info."""
        conn = dict(connector, mountpoint=mountpoint) if mountpoint else dict(connector)
        data = self._ok(ctx, 'PUT', f'/attachments/{attachment_id}',
                        {'attachment': {'connector': conn}}, microversion=ATTACHMENTS_MV,
                        attachment_id=attachment_id)
        return _attachment(data['attachment'])

    def attachment_complete(self, ctx: RequestContext, attachment_id: str) -> None:
        """The guest has the disk: Cinder marks the volume in-use."""
        self._ok(ctx, 'POST', f'/attachments/{attachment_id}/action',
                 {'os-complete': None}, microversion=ATTACHMENTS_MV,
                 attachment_id=attachment_id)

    def attachment_delete(self, ctx: RequestContext, attachment_id: str) -> None:
        """Released (as Nova, one already gone is fine). With the service role,
        so Cinder does not ask Nova whether the server still uses it."""
        status, data = self.request(ctx, 'DELETE', f'/attachments/{attachment_id}',
                                    microversion=ATTACHMENTS_MV, service_role=True)
        if status == 404 or status < 400:
            return
        raise _translate(status, _message(data), 'DELETE', '/attachments',
                         attachment_id=attachment_id)

    # -- snapshots ----------------------------------------------------------------

    def get_snapshot(self, ctx: RequestContext, snapshot_id: str) -> Snapshot:
        data = self._ok(ctx, 'GET', f'/snapshots/{snapshot_id}', microversion=self._mv(ctx),
                        snapshot_id=snapshot_id)
        return cast(Snapshot, dict(data['snapshot']))

    def get_all_snapshots(self, ctx: RequestContext) -> list[Snapshot]:
        data = self._ok(ctx, 'GET', '/snapshots/detail', microversion=self._mv(ctx))
        return [cast(Snapshot, dict(s)) for s in data.get('snapshots') or []]

    def create_snapshot(self, ctx: RequestContext, volume_id: str, name: str | None,
                        description: str | None, force: bool = False) -> Snapshot:
        body = {'snapshot': {'volume_id': volume_id, 'force': force, 'name': name,
                             'description': description}}
        data = self._ok(ctx, 'POST', '/snapshots', body, microversion=self._mv(ctx),
                        volume_id=volume_id)
        return cast(Snapshot, dict(data['snapshot']))

    def create_snapshot_force(self, ctx: RequestContext, volume_id: str, name: str,
                              description: str) -> Snapshot:
        body = {'snapshot': {'volume_id': volume_id, 'force': True, 'name': name,
                             'description': description}}
        data = self._ok(ctx, 'POST', '/snapshots', body, microversion=self._mv(ctx),
                        volume_id=volume_id)
        return cast(Snapshot, dict(data['snapshot']))

    def delete_snapshot(self, ctx: RequestContext, snapshot_id: str) -> None:
        self._ok(ctx, 'DELETE', f'/snapshots/{snapshot_id}', microversion=self._mv(ctx),
                 snapshot_id=snapshot_id)

    # -- helpers --------------------------------------------------------------------

    def _mv(self, ctx: RequestContext) -> str | None:
        """Cinder's base version (request() raises it where the URL needs it)."""
        return None


def _has_project(base: str, ctx: RequestContext) -> bool:
    return bool(ctx.project_id) and base.rstrip('/').endswith(str(ctx.project_id))


def _max_mv(a: str | None, b: str) -> str:
    if a is None:
        return b
    return max(a, b, key=lambda v: tuple(int(x) for x in v.split('.')))


def _volume(raw: dict[str, Any]) -> Volume:
    return cast(Volume, {k: raw[k] for k in Volume.__annotations__ if k in raw})


def _attachment(raw: dict[str, Any]) -> Attachment:
    out = {k: raw[k] for k in Attachment.__annotations__ if k in raw}
    out['connection_info'] = _connection_info(raw.get('connection_info') or {})
    return cast(Attachment, out)


def _connection_info(info: dict[str, Any]) -> dict[str, Any]:
    """The attachments API answers the connection info flat (the driver's
    fields beside driver_volume_type); the virt drivers read it in the shape
    of the old initialize_connection, {driver_volume_type, data}, as Nova does."""
    if not info or 'data' in info:
        return info
    data = {k: v for k, v in info.items() if k != 'driver_volume_type'}
    return {'driver_volume_type': info.get('driver_volume_type'), 'data': data}


def _translate(status: int, message: str, method: str, path: str,
               volume_id: str | None = None, attachment_id: str | None = None,
               snapshot_id: str | None = None) -> exception.MinovaException:
    """Cinder's answer as Nova's exception (nova/volume/cinder.py's translations)."""
    if status == 404:
        if attachment_id:
            return exception.VolumeAttachmentNotFound(attachment_id=attachment_id)
        if snapshot_id:
            return exception.SnapshotNotFound(snapshot_id=snapshot_id)
        if volume_id:
            return exception.VolumeNotFound(volume_id=volume_id)
    if status == 413 or (status == 403 and 'quota' in message.lower()):
        return exception.OverQuota(message=message)
    if status in (400, 409):
        prefix = 'Invalid volume: '
        return exception.InvalidVolume(
            reason=message[len(prefix):] if message.startswith(prefix) else message)
    LOG.info('Cinder answered %s %s with %s: %s', method, path, status, message)
    return CinderError(status, message)


def get_client() -> Any:
    """The process's Cinder client (a test may set another with set_client)."""
    with Client._shared_lock:
        if Client._shared is None:
            Client._shared = Client()
        return Client._shared


def set_client(client: Any) -> None:
    with Client._shared_lock:
        Client._shared = client


def client() -> Any:
    """The Cinder client, or VolumeServiceNotConfigured (501) without [cinder]."""
    current = Client._shared
    if current is not None and not isinstance(current, Client):
        return current      # a test's fake
    if not is_configured():
        raise exception.VolumeServiceNotConfigured()
    return get_client()
