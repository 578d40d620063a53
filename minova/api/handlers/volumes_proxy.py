"""/os-volumes and /os-snapshots: Nova's deprecated proxies to Cinder (2.1-2.35).

Cinder's volumes and snapshots of the caller's project in Nova's old shape
(camelCase, display names); from 2.36 the URLs are 404, as in Nova. Without
[cinder]: 501 (no volume service).
"""
from __future__ import annotations

from typing import Any

import falcon

from minova import exception
from minova.api import policy, util, versioned
from minova.api.schemas import volume_attachments as schema
from minova.policies import volumes as pol


def _cinder() -> Any:
    from minova.volume import cinder as cinder_client
    return cinder_client.client()


def _page(req: falcon.Request, items: list[Any]) -> list[Any]:
    params = util.validated_query(req, versioned.require(req, schema.PROXY_QUERY))
    offset = int(util.last(params, 'offset', 0) or 0)
    limit = util.last(params, 'limit')
    return items[offset:offset + int(limit)] if limit is not None else items[offset:]


def _authorize(req: falcon.Request, rule: str) -> Any:
    ctx = util.ctx(req)
    policy.authorize(ctx, rule, {'project_id': ctx.project_id})
    return ctx


def volume_view(vol: dict[str, Any]) -> dict[str, Any]:
    """Nova's _translate_volume_summary_view."""
    if vol.get('attach_status') == 'attached' or vol.get('status') == 'in-use':
        attachments = [{'id': vol['id'], 'volumeId': vol['id'],
                        'serverId': a.get('server_id'), 'device': a.get('device')}
                       for a in vol.get('attachments') or []]
    else:
        attachments = [{}]
    return {'id': vol['id'], 'status': vol.get('status'), 'size': vol.get('size'),
            'availabilityZone': vol.get('availability_zone'),
            'createdAt': vol.get('created_at'), 'attachments': attachments,
            'displayName': vol.get('name'), 'displayDescription': vol.get('description'),
            'volumeType': vol.get('volume_type'), 'snapshotId': vol.get('snapshot_id'),
            'metadata': dict(vol.get('metadata') or {})}


def snapshot_view(snap: dict[str, Any]) -> dict[str, Any]:
    return {'id': snap['id'], 'volumeId': snap.get('volume_id'), 'status': snap.get('status'),
            'size': snap.get('size'), 'createdAt': snap.get('created_at'),
            'displayName': snap.get('name'), 'displayDescription': snap.get('description')}


class Volumes:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx = _authorize(req, pol.VOLUMES % 'list')
        vols = _page(req, _cinder().get_all(ctx))
        resp.media = {'volumes': [volume_view(v) for v in vols]}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        versioned.require(req, schema.PROXY_QUERY)
        body = util.validated_body(req, schema.volume_create)['volume']
        ctx = _authorize(req, pol.VOLUMES % 'create')
        client = _cinder()
        snapshot_id = body.get('snapshot_id')
        if snapshot_id:
            client.get_snapshot(ctx, snapshot_id)
        vol = client.create(ctx, int(body['size']), body.get('display_name'),
                            body.get('display_description'), snapshot_id=snapshot_id,
                            volume_type=body.get('volume_type'),
                            availability_zone=body.get('availability_zone'),
                            metadata=body.get('metadata'))
        resp.media = {'volume': volume_view(dict(vol))}


class VolumesDetail:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx = _authorize(req, pol.VOLUMES % 'detail')
        vols = _page(req, _cinder().get_all(ctx))
        resp.media = {'volumes': [volume_view(v) for v in vols]}


class Volume:
    def on_get(self, req: falcon.Request, resp: falcon.Response, volume_id: str) -> None:
        versioned.require(req, schema.PROXY_QUERY)
        ctx = _authorize(req, pol.VOLUMES % 'show')
        resp.media = {'volume': volume_view(dict(_cinder().get(ctx, volume_id)))}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, volume_id: str) -> None:
        versioned.require(req, schema.PROXY_QUERY)
        ctx = _authorize(req, pol.VOLUMES % 'delete')
        _cinder().delete(ctx, volume_id)
        resp.status = 202


class Snapshots:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx = _authorize(req, pol.SNAPSHOTS % 'list')
        snaps = _page(req, _cinder().get_all_snapshots(ctx))
        resp.media = {'snapshots': [snapshot_view(s) for s in snaps]}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        versioned.require(req, schema.PROXY_QUERY)
        body = util.validated_body(req, schema.snapshot_create)['snapshot']
        ctx = _authorize(req, pol.SNAPSHOTS % 'create')
        force = util.to_bool(body.get('force', False), 'force')
        try:
            snap = _cinder().create_snapshot(ctx, body['volume_id'], body.get('display_name'),
                                             body.get('display_description'), force=force)
        except exception.VolumeNotFound as e:
            raise exception.NotFound(e.message) from None
        resp.media = {'snapshot': snapshot_view(dict(snap))}


class SnapshotsDetail:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx = _authorize(req, pol.SNAPSHOTS % 'detail')
        snaps = _page(req, _cinder().get_all_snapshots(ctx))
        resp.media = {'snapshots': [snapshot_view(s) for s in snaps]}


class Snapshot:
    def on_get(self, req: falcon.Request, resp: falcon.Response, snapshot_id: str) -> None:
        versioned.require(req, schema.PROXY_QUERY)
        ctx = _authorize(req, pol.SNAPSHOTS % 'show')
        resp.media = {'snapshot': snapshot_view(dict(_cinder().get_snapshot(ctx, snapshot_id)))}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, snapshot_id: str) -> None:
        versioned.require(req, schema.PROXY_QUERY)
        ctx = _authorize(req, pol.SNAPSHOTS % 'delete')
        _cinder().delete_snapshot(ctx, snapshot_id)
        resp.status = 202
