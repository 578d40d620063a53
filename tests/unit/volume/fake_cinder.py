"""An in-memory Cinder (v3) over real HTTP, so the real client
(minova/volume/cinder.py) runs in unit and functional tests.

It keeps to Cinder's API as far as mini-Nova uses it: volumes (created
'creating', then 'available' at once or after `create_delay`), the attachments
API (3.44; 404 below 3.27, as Cinder), volume actions (os-begin_detaching,
os-roll_detaching, os-migrate_volume_completion, os-reimage: recorded in
`reimaged`, then `on_reimage(volume)` if set and the volume is reserved, as
Cinder then posts volume-reimaged to Nova; failing: the volume in error and
no event, as Cinder), snapshots; noauth tokens
'user:project' with the project in the URL (hex, Cinder's project_id_regex)
or none from 3.67; error bodies {"badRequest": {"code", "message"}} and
friends; a gigabytes quota (413 overLimit); deleting an attachment that has
connection info without the service role answers 500, as Cinder's noauth does.
`fail` makes chosen calls fail ('attachment_complete', 'attachment_update',
'volume_delete', 'reimage', 'volume_create_error': the volume goes to 'error',
'never_available': it stays 'creating').
"""
from __future__ import annotations

import json as jsonlib
import re
import threading
import uuid as uuidlib
from typing import Any

from tests import loopback_wsgi

PROJECT = '0123456789abcdef0123456789abcdef'
_PROJECT_RE = re.compile(r'^[0-9a-f\-]+$')


def _mv(headers: dict[str, str]) -> tuple[int, int]:
    raw = headers.get('openstack-api-version', '')
    m = re.match(r'volume\s+3\.(\d+)', raw)
    return (3, int(m.group(1))) if m else (3, 0)


class FakeCinder:
    def __init__(self) -> None:
        self.volumes: dict[str, dict[str, Any]] = {}
        self.attachments: dict[str, dict[str, Any]] = {}
        self.snapshots: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.fail: set[str] = set()
        self.quota_gb: int | None = None
        self.reimaged: list[tuple[str, str]] = []      # (volume id, image id)
        self.on_reimage: Any = None
        # volume id -> its /encryption answer (the volume type's spec and key id)
        self.encryption: dict[str, dict[str, Any]] = {}
        self.url = ''       # where serve() put it
        self.lock = threading.RLock()

    # -- test helpers ----------------------------------------------------------

    def add_volume(self, size: int = 1, name: str = 'vol', status: str = 'available',
                   availability_zone: str = 'nova', multiattach: bool = False,
                   encryption: dict[str, Any] | None = None) -> dict[str, Any]:
        """A volume; `encryption` (provider, cipher, key_size,
        control_location): of an encrypted volume type, with the fixed-key
        manager's key id."""
        vid = str(uuidlib.uuid4())
        vol = {'id': vid, 'name': name, 'description': None, 'size': size,
               'status': status, 'attach_status': 'detached',
               'availability_zone': availability_zone, 'volume_type': '__DEFAULT__',
               'snapshot_id': None, 'bootable': 'false', 'multiattach': multiattach,
               'encrypted': bool(encryption), 'attachments': [], 'image_id': None,
               'created_at': '2026-12-06T00:00:00.000000', 'metadata': {}}
        with self.lock:
            self.volumes[vid] = vol
            self.encryption[vid] = {'encryption_key_id': None}
            if encryption:
                self.encryption[vid] = dict(
                    encryption, encryption_key_id='00000000-0000-0000-0000-000000000000')
        return dict(vol)

    def status(self, volume_id: str) -> str | None:
        vol = self.volumes.get(volume_id)
        return vol['status'] if vol else None

    def live_attachments(self, volume_id: str | None = None) -> list[dict[str, Any]]:
        return [a for a in self.attachments.values()
                if volume_id is None or a['volume_id'] == volume_id]

    # -- the API ---------------------------------------------------------------

    def handle(self, method: str, path: str, headers: dict[str, str],
               body: Any) -> tuple[int, Any]:
        self.requests.append((method, path, headers))
        token = headers.get('x-auth-token', '')
        if ':' not in token:
            return 401, {'error': {'code': 401, 'message': 'Unauthorized'}}
        m = re.match(r'^/v3(?:/([^/]+))?(/.*)$', path)
        if not m:
            return 404, _e(404, 'itemNotFound', 'The resource could not be found.')
        project, rest = m.group(1), m.group(2)
        if project is not None and project in ('volumes', 'attachments', 'snapshots'):
            project, rest = None, f'/{project}{rest}'
        mv = _mv(headers)
        if project is None and mv < (3, 67):
            return 404, _e(404, 'itemNotFound', 'The resource could not be found.')
        if project is not None and not _PROJECT_RE.match(project):
            return 404, _e(404, 'itemNotFound', 'The resource could not be found.')
        with self.lock:
            return self._route(method, rest, headers, body or {}, mv)

    def _route(self, method: str, rest: str, headers: dict[str, str], body: Any,
               mv: tuple[int, int]) -> tuple[int, Any]:
        parts = [p for p in rest.split('/') if p]
        kind = parts[0] if parts else ''
        if kind == 'attachments' and mv < (3, 27):
            return 404, _e(404, 'itemNotFound', 'The resource could not be found.')
        if kind in ('volumes', 'snapshots') and parts[1:] == ['detail'] and method == 'GET':
            items = self.volumes if kind == 'volumes' else self.snapshots
            return 200, {kind: [dict(v) for v in items.values()]}
        if kind == 'volumes':
            if len(parts) == 1 and method == 'POST':
                return self._create_volume(body.get('volume') or {})
            vol = self.volumes.get(parts[1]) if len(parts) > 1 else None
            if vol is None:
                return 404, _e(404, 'itemNotFound',
                               f'Volume {parts[1] if len(parts) > 1 else ""} could not be '
                               'found.')
            if len(parts) == 2 and method == 'GET':
                self._tick(vol)
                return 200, {'volume': dict(vol)}
            if parts[2:] == ['encryption'] and method == 'GET':
                return 200, dict(self.encryption.get(vol['id'])
                                 or {'encryption_key_id': None})
            if len(parts) == 2 and method == 'DELETE':
                if vol['status'] not in ('available', 'error', 'error_restoring',
                                         'error_extending') or vol['attachments']:
                    return 400, _e(400, 'badRequest', (
                        'Invalid volume: Volume status must be available or error or '
                        'error_restoring or error_extending or error_managing and must not '
                        'be migrating, attached, belong to a group, have snapshots, '
                        'awaiting a transfer, or be disassociated from snapshots after '
                        'volume transfer.'))
                if 'volume_delete' in self.fail:
                    return 500, _e(500, 'computeFault', 'The server has either erred or is '
                                   'incapable of performing the requested operation.')
                del self.volumes[vol['id']]
                return 202, None
            if len(parts) == 3 and parts[2] == 'action' and method == 'POST':
                return self._volume_action(vol, body)
        if kind == 'attachments':
            if len(parts) == 1 and method == 'POST':
                return self._attachment_create(body.get('attachment') or {})
            att = self.attachments.get(parts[1]) if len(parts) > 1 else None
            if att is None:
                return 404, _e(404, 'itemNotFound',
                               f'Volume attachment {parts[1] if len(parts) > 1 else ""} '
                               'could not be found.')
            if len(parts) == 2 and method == 'GET':
                return 200, {'attachment': dict(att)}
            if len(parts) == 2 and method == 'PUT':
                return self._attachment_update(att, body.get('attachment') or {})
            if len(parts) == 2 and method == 'DELETE':
                if att.get('connection_info') and \
                        'service' not in headers.get('x-service-roles', ''):
                    # Cinder asks Nova whether the server still uses it: it cannot here.
                    return 500, _e(500, 'computeFault', 'The server has either erred or '
                                   'is incapable of performing the requested operation.')
                self._detach(att)
                return 200, {'attachments': []}
            if len(parts) == 3 and parts[2] == 'action' and method == 'POST':
                if 'os-complete' in body:
                    if 'attachment_complete' in self.fail:
                        return 500, _e(500, 'computeFault', 'complete failed')
                    att['status'] = 'attached'
                    vol = self.volumes[att['volume_id']]
                    vol['status'], vol['attach_status'] = 'in-use', 'attached'
                    return 204, None
        if kind == 'snapshots':
            if len(parts) == 1 and method == 'POST':
                snap = body.get('snapshot') or {}
                vol = self.volumes.get(snap.get('volume_id') or '')
                if vol is None:
                    return 404, _e(404, 'itemNotFound', 'Volume could not be found.')
                sid = str(uuidlib.uuid4())
                self.snapshots[sid] = {'id': sid, 'volume_id': vol['id'],
                                       'status': 'available', 'size': vol['size'],
                                       'name': snap.get('name'),
                                       'description': snap.get('description'),
                                       'created_at': '2026-12-06T00:00:00.000000'}
                return 202, {'snapshot': dict(self.snapshots[sid])}
            snap = self.snapshots.get(parts[1]) if len(parts) > 1 else None
            if snap is None:
                return 404, _e(404, 'itemNotFound',
                               f'Snapshot {parts[1] if len(parts) > 1 else ""} could not be '
                               'found.')
            if method == 'GET':
                return 200, {'snapshot': dict(snap)}
            if method == 'DELETE':
                del self.snapshots[snap['id']]
                return 202, None
        return 404, _e(404, 'itemNotFound', 'The resource could not be found.')

    def _tick(self, vol: dict[str, Any]) -> None:
        if vol['status'] == 'creating' and 'never_available' not in self.fail:
            vol['status'] = 'available'

    def _create_volume(self, spec: dict[str, Any]) -> tuple[int, Any]:
        size = int(spec.get('size') or 0)
        snap_id = spec.get('snapshot_id')
        if snap_id and snap_id not in self.snapshots:
            return 404, _e(404, 'itemNotFound', f'Snapshot {snap_id} could not be found.')
        if snap_id and not size:
            size = self.snapshots[snap_id]['size']
        if size < 1:
            return 400, _e(400, 'badRequest', 'Invalid input received: size must be > 0')
        used = sum(v['size'] for v in self.volumes.values())
        if self.quota_gb is not None and used + size > self.quota_gb:
            return 413, _e(413, 'overLimit', (
                'VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds '
                f'allowed gigabytes quota. Requested {size}G, quota is {self.quota_gb}G '
                f'and {used}G has been consumed.'))
        vol = self.add_volume(size, spec.get('name') or '',
                              availability_zone=spec.get('availability_zone') or 'nova')
        stored = self.volumes[vol['id']]
        stored.update(status='error' if 'volume_create_error' in self.fail else 'creating',
                      description=spec.get('description'), snapshot_id=snap_id,
                      image_id=spec.get('imageRef'),
                      volume_image_metadata=({'image_id': spec['imageRef']}
                                             if spec.get('imageRef') else {}),
                      bootable='true' if spec.get('imageRef') else 'false',
                      volume_type=spec.get('volume_type') or '__DEFAULT__',
                      metadata=dict(spec.get('metadata') or {}))
        return 202, {'volume': dict(stored)}

    def _volume_action(self, vol: dict[str, Any], body: Any) -> tuple[int, Any]:
        if 'os-begin_detaching' in body:
            if vol['status'] != 'in-use':
                return 400, _e(400, 'badRequest',
                               'Invalid volume: Unable to detach volume. Volume status must '
                               "be 'in-use' and attach_status must be 'attached' to detach.")
            vol['status'] = 'detaching'
            return 202, None
        if 'os-roll_detaching' in body:
            if vol['status'] == 'detaching':
                vol['status'] = 'in-use'
            return 202, None
        if 'os-migrate_volume_completion' in body:
            return 200, {'save_volume_id': body['os-migrate_volume_completion']['new_volume']}
        if 'os-reimage' in body:
            spec = body['os-reimage']
            allowed = ['available', 'error'] + (['reserved'] if spec.get('reimage_reserved')
                                                else [])
            if vol['status'] not in allowed:
                return 400, _e(400, 'badRequest', (
                    f"Invalid volume: Volume {vol['id']} status must be "
                    f"{' or '.join(allowed)} to reimage, but the current status is "
                    f"{vol['status']}."))
            self.reimaged.append((vol['id'], spec['image_id']))
            if 'reimage' in self.fail:      # Cinder: volume error, no event to Nova
                vol['status'] = 'error'
                return 202, None
            vol['image_id'] = spec['image_id']
            vol['volume_image_metadata'] = {'image_id': spec['image_id']}
            if self.on_reimage is not None and vol['status'] == 'reserved':
                threading.Thread(target=self.on_reimage, args=(dict(vol),),
                                 daemon=True).start()
            return 202, None
        return 400, _e(400, 'badRequest', 'There is no such action')

    def _attachment_create(self, spec: dict[str, Any]) -> tuple[int, Any]:
        vid = spec.get('volume_uuid') or ''
        vol = self.volumes.get(vid)
        if vol is None:
            return 404, _e(404, 'itemNotFound', f'Volume {vid} could not be found.')
        same_server = bool(vol['attachments']) and all(
            a['server_id'] == spec.get('instance_uuid') for a in vol['attachments'])
        # As Cinder: a multiattach volume takes another attachment once in-use.
        shared = vol['multiattach'] and vol['status'] == 'in-use'
        if vol['status'] not in ('available', 'downloading') and not same_server \
                and not shared:
            return 400, _e(400, 'badRequest', (
                f'Invalid volume: Volume {vid} status must be available or downloading to '
                f"reserve, but the current status is {vol['status']}."))
        aid = str(uuidlib.uuid4())
        att = {'id': aid, 'volume_id': vid, 'instance': spec.get('instance_uuid'),
               'status': 'reserved', 'attach_mode': 'rw', 'connection_info': {},
               'attached_at': None, 'detached_at': None}
        self.attachments[aid] = att
        if not same_server and not shared:
            vol['status'] = 'reserved'
        vol['attachments'].append({'attachment_id': aid, 'server_id': att['instance'],
                                   'id': aid, 'volume_id': vid, 'device': None})
        if spec.get('connector'):   # connected at once (no duplicate check, as Cinder)
            return self._connect(att, spec['connector'])
        return 200, {'attachment': dict(att)}

    def _attachment_update(self, att: dict[str, Any], spec: dict[str, Any]
                           ) -> tuple[int, Any]:
        if 'attachment_update' in self.fail:
            return 500, _e(500, 'computeFault', 'update failed')
        connector = spec.get('connector')
        if not connector:
            return 400, _e(400, 'badRequest', 'Invalid input received: connector required')
        vol = self.volumes[att['volume_id']]
        others = [self.attachments.get(a['attachment_id']) for a in vol['attachments']
                  if a['attachment_id'] != att['id']]
        if not vol['multiattach'] and any(o and o.get('connection_info') for o in others):
            # Cinder's check against racing attaches (a live migration must
            # create its attachment with the connector instead).
            return 409, _e(409, 'conflict', 'Resource conflict: duplicate connectors '
                                            f"detected on volume {vol['id']}")
        return self._connect(att, connector)

    def _connect(self, att: dict[str, Any], connector: dict[str, Any]) -> tuple[int, Any]:
        vid = att['volume_id']
        # flat, as the real attachments API answers it
        att['connection_info'] = {
            'driver_volume_type': 'rbd', 'name': f'volumes/volume-{vid}',
            'hosts': ['127.0.0.1'], 'ports': ['6789'], 'cluster_name': 'ceph',
            'auth_enabled': True, 'auth_username': 'cinder', 'secret_type': 'ceph',
            'secret_uuid': None, 'volume_id': vid, 'discard': True, 'qos_specs': None,
            'access_mode': 'rw', 'encrypted': self.volumes[vid]['encrypted'],
            'attachment_id': att['id']}
        att['connector'] = connector
        att['status'] = 'attaching'
        for a in self.volumes[vid]['attachments']:
            if a['attachment_id'] == att['id']:
                a['device'] = connector.get('mountpoint')
        if self.volumes[vid]['status'] != 'in-use':    # a second one (a live migration)
            self.volumes[vid]['status'] = 'attaching'
        return 200, {'attachment': dict(att)}

    def _detach(self, att: dict[str, Any]) -> None:
        del self.attachments[att['id']]
        vol = self.volumes.get(att['volume_id'])
        if vol is None:
            return
        vol['attachments'] = [a for a in vol['attachments']
                              if a['attachment_id'] != att['id']]
        if not vol['attachments']:
            vol['status'], vol['attach_status'] = 'available', 'detached'
            return
        # As Cinder: the first of the remaining attachments' statuses
        # (attached > attaching > detaching > reserved) is the volume's.
        best = min(self.attachments[a['attachment_id']]['status']
                   for a in vol['attachments'] if a['attachment_id'] in self.attachments)
        vol['status'] = 'in-use' if best == 'attached' else best


def _e(code: int, kind: str, message: str) -> dict[str, Any]:
    return {kind: {'code': code, 'message': message}}


def serve(cinder: FakeCinder) -> tuple[str, Any]:
    """`cinder` over HTTP on 127.0.0.1 (a thread): (its /v3 URL, a stop function)."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get('CONTENT_LENGTH') or 0)
        raw = environ['wsgi.input'].read(length) if length else b''
        headers = {k[5:].replace('_', '-').lower(): v for k, v in environ.items()
                   if k.startswith('HTTP_')}
        status, body = cinder.handle(environ['REQUEST_METHOD'], environ['PATH_INFO'],
                                     headers, jsonlib.loads(raw) if raw else None)
        start_response(f'{status} X', [('Content-Type', 'application/json')])
        return [b'' if body is None else jsonlib.dumps(body).encode()]

    port, stop = loopback_wsgi.serve(app)
    return f'http://127.0.0.1:{port}/v3', stop
