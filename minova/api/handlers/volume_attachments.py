"""/servers/{id}/os-volume_attachments: a server's Cinder volumes (Nova's).

List and show read the server's block device mappings; attach (200, the new
attachment with the device the host chose) reserves the volume in Cinder and
leaves the attach to the host; detach (202) does the same with the detach.
PUT is the admin's swap to another volume, or from 2.85 with the same
volumeId an update of delete_on_termination (202). Without [cinder]: 501.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import falcon

from minova import exception
from minova.api import errors, policy, util, versioned
from minova.api.handlers import servers
from minova.api.schemas import volume_attachments as schema
from minova.api.versioned import schema_for
from minova.api.views.fields import OMIT, Field, Fields
from minova.db.instances import Instance
from minova.policies import volumes as pol


def _server(req: falcon.Request, server_id: str, rule: str) -> Instance:
    instance = servers.get_server(req, server_id, action='')
    policy.authorize(util.ctx(req), pol.ATTACHMENTS % rule,
                     {'project_id': instance['project_id']})
    return instance


@dataclass
class _Att:
    bdm: dict[str, Any]
    server_id: str


_SHOW, _CREATED = 'show', 'created'
# Nova's attachment view: id until 2.89 (and always in attach's answer), tag
# from 2.70, delete_on_termination from 2.79, attachment_id and bdm_uuid from
# 2.89 (list and show).
VIEW: Fields[_Att] = Fields(
    Field('2.1', 'id', lambda a: a.bdm['volume_id'], until='2.89'),
    Field('2.89', 'id', lambda a: a.bdm['volume_id'], shapes=frozenset({_CREATED})),
    Field('2.1', 'serverId', lambda a: a.server_id),
    Field('2.1', 'volumeId', lambda a: a.bdm['volume_id']),
    Field('2.1', 'device', lambda a: a.bdm.get('device_name') or OMIT,
          shapes=frozenset({_SHOW})),
    # attach answers the device even when none is chosen yet (a shelved-offloaded server)
    Field('2.1', 'device', lambda a: a.bdm.get('device_name'), shapes=frozenset({_CREATED})),
    Field('2.70', 'tag', lambda a: a.bdm.get('tag')),
    Field('2.79', 'delete_on_termination',
          lambda a: bool(a.bdm.get('delete_on_termination'))),
    Field('2.89', 'attachment_id', lambda a: a.bdm.get('attachment_id'),
          shapes=frozenset({_SHOW})),
    Field('2.89', 'bdm_uuid', lambda a: a.bdm.get('uuid'), shapes=frozenset({_SHOW})),
)


def _view(req: falcon.Request, bdm: dict[str, Any], server_id: str,
          created: bool = False) -> dict[str, Any]:
    return VIEW.render(req, _Att(bdm, server_id), _CREATED if created else _SHOW)


def _not_attached(server_id: str, volume_id: str) -> errors.HTTPFault:
    return errors.not_found(f'Instance {server_id} is not attached to volume {volume_id}')


class VolumeAttachments:
    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str) -> None:
        params = util.validated_query(req, schema_for(req, schema.INDEX_QUERY))
        instance = _server(req, server_id, 'index')
        bdms = util.compute_api().volume_bdms(util.ctx(req), instance)
        offset = int(util.last(params, 'offset', 0) or 0)
        limit = util.last(params, 'limit')
        bdms = bdms[offset:offset + int(limit)] if limit is not None else bdms[offset:]
        resp.media = {'volumeAttachments': [_view(req, b, server_id) for b in bdms]}

    def on_post(self, req: falcon.Request, resp: falcon.Response, server_id: str) -> None:
        body = util.validated_body(req, schema_for(req, schema.CREATE))['volumeAttachment']
        instance = _server(req, server_id, 'create')
        try:
            bdm = util.compute_api().attach_volume(
                util.ctx(req), instance, body['volumeId'], tag=body.get('tag'),
                delete_on_termination=bool(body.get('delete_on_termination')),
                supports_multiattach=versioned.version(req) >= versioned.parse('2.60'))
        except exception.InstanceInvalidState as e:
            raise errors.conflict(e.message) from None
        resp.media = {'volumeAttachment': _view(req, bdm, server_id, created=True)}


class VolumeAttachment:
    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str,
               volume_id: str) -> None:
        util.validated_query(req, schema_for(req, schema.INDEX_QUERY))
        instance = _server(req, server_id, 'show')
        try:
            bdm = util.compute_api().volume_bdm(util.ctx(req), instance, volume_id)
        except exception.VolumeBDMNotFound:
            raise _not_attached(server_id, volume_id) from None
        resp.media = {'volumeAttachment': _view(req, bdm, server_id)}

    def on_put(self, req: falcon.Request, resp: falcon.Response, server_id: str,
               volume_id: str) -> None:
        body = util.validated_body(req, schema_for(req, schema.UPDATE))['volumeAttachment']
        ctx = util.ctx(req)
        new_volume_id = body['volumeId']
        api = util.compute_api()
        in_place = schema_for(req, schema.UPDATE_IN_PLACE)
        if in_place and new_volume_id == volume_id:
            instance = _server(req, server_id, 'update')
            try:
                bdm = api.volume_bdm(ctx, instance, volume_id)
            except exception.VolumeBDMNotFound:
                raise _not_attached(server_id, volume_id) from None
            _check_unchanged(body, bdm, server_id)
            if 'delete_on_termination' in body:
                api.update_volume_attachment(ctx, instance, volume_id, {
                    'delete_on_termination': body['delete_on_termination']})
            resp.status = 202
            return
        if in_place:
            extra = set(body) - {'volumeId'}
            if extra:
                raise errors.bad_request(
                    f"The {', '.join(sorted(extra))} field(s) cannot be changed when "
                    'swapping to another volume')
        instance = _server(req, server_id, 'swap')
        try:
            api.swap_volume(ctx, instance, volume_id, new_volume_id)
        except exception.VolumeBDMNotFound:
            raise _not_attached(server_id, volume_id) from None
        except exception.InstanceInvalidState as e:
            raise errors.conflict(e.message) from None
        resp.status = 202

    def on_delete(self, req: falcon.Request, resp: falcon.Response, server_id: str,
                  volume_id: str) -> None:
        instance = _server(req, server_id, 'delete')
        try:
            util.compute_api().detach_volume(util.ctx(req), instance, volume_id)
        except exception.VolumeBDMNotFound:
            raise _not_attached(server_id, volume_id) from None
        resp.status = 202


# 2.85: the fields of the attachment that a PUT may repeat but not change.
_FIXED = (('id', 'volume_id'), ('device', 'device_name'), ('tag', 'tag'))


def _check_unchanged(body: dict[str, Any], bdm: dict[str, Any], server_id: str) -> None:
    if 'serverId' in body and body['serverId'] != server_id:
        raise errors.bad_request('The serverId field cannot be changed')
    for field, column in _FIXED:
        if field in body and body[field] != bdm.get(column):
            raise errors.bad_request(f'The {field} field cannot be changed')
