"""/servers, /servers/detail and /servers/{id}: validation, policy and views.

The compute layer (minova.compute.api.API, via util.compute_api()) does the
work; this module never reads cell databases for servers itself. What each
microversion changes is schemas/servers.py TABLE; the list query becomes
filters in minova/api/server_filters.py, a create body a BootRequest in
minova/api/server_boot.py.
"""
from __future__ import annotations

from typing import Any

import falcon

from minova import exception
from minova.api import errors, host_status, policy, server_boot, server_filters, util
from minova.api.schemas import servers as schema
from minova.api.versioned import schema_for
from minova.api.views import servers as view
from minova.conf import CONF
from minova.db import build_requests
from minova.db.instances import Instance
from minova.policies import servers as pol

# ---- shared with the other server sub-resources ---------------------------------

def get_server(req: falcon.Request, server_id: str, action: str = 'show',
               read_deleted: bool = False) -> Instance:
    """The server if the caller may see it; 404 otherwise (as for a missing one)."""
    ctx = util.ctx(req)
    # Only a plain GET (2.69+) may get a down cell's partial record; actions need it all.
    down = action == 'show' and schema_for(req, schema.TABLE).cell_down
    api = util.compute_api()
    instance = (api.get(ctx, server_id, cell_down_support=down, read_deleted=True)
                if read_deleted else api.get(ctx, server_id, cell_down_support=down))
    if not ctx.is_admin and instance.get('project_id') != ctx.project_id:
        raise exception.InstanceNotFound(instance_id=server_id)
    if action:
        policy.authorize(ctx, pol.SERVERS % action, {'project_id': instance['project_id'],
                                                     'user_id': instance.get('user_id')})
    return instance


def extras_for(req: falcon.Request, instances: list[Instance]) -> view.ServerExtras:
    ctx = util.ctx(req)
    row = schema_for(req, schema.TABLE)
    target = {'project_id': instances[0]['project_id'] if len(instances) == 1
              else ctx.project_id}
    extras = view.ServerExtras(
        is_admin=policy.can(ctx, pol.EXTENDED_ATTRS, target),
        show_extra_specs=row.flavor_extra_specs and policy.can(
            ctx, pol.SERVERS % 'show:flavor-extra-specs', target),
        show_host_status=row.host_status and policy.can(
            ctx, pol.SERVERS % 'show:host_status', target),
        uuids=[i['uuid'] for i in instances])
    if extras.show_host_status:
        extras.host_status = host_status.host_statuses(instances)
    # Request specs hold the server group (single GET only), the pinned zone
    # and the hints.
    wants_specs = row.spec_all or (row.spec_one and len(instances) == 1)
    if wants_specs and instances:
        extras.specs = build_requests.spec_get_many([i['uuid'] for i in instances])
    return extras


def render(req: falcon.Request, instance: Instance, shape: str = view.FULL
           ) -> dict[str, Any]:
    return {'server': view.show(req, instance, extras_for(req, [instance]), shape=shape)}


# ---- list ------------------------------------------------------------------

def _list(req: falcon.Request, resp: falcon.Response, detailed: bool) -> None:
    ctx = util.ctx(req)
    row = schema_for(req, schema.TABLE)
    policy.authorize(ctx, pol.SERVERS % ('detail' if detailed else 'index'))
    params = util.validated_query(req, row.index_query)
    limit, marker = util.limit_marker(params)
    filters = server_filters.filters(req, row, params, detailed)
    sort_keys, sort_dirs = server_filters.sort(req, row, params)
    instances: list[Instance] = []
    if filters is not None:
        try:
            # The basic list shows id, name and links: read just those (at
            # a thousand servers, decoding whole rows was most of its time).
            instances = util.compute_api().get_all(
                ctx, filters, limit, marker, sort_keys, sort_dirs,
                cell_down_support=row.cell_down,
                columns=None if detailed else view.BASIC_COLUMNS)
        except exception.NotFound:
            raise errors.bad_request(f'marker [{marker}] not found') from None
    if detailed:
        extras = extras_for(req, instances) if instances else view.ServerExtras()
        items = [view.show(req, i, extras, in_list=True) for i in instances]
    else:
        items = [view.basic(req, i) for i in instances]
    body: dict[str, Any] = {'servers': items}
    links = util.page_links(req, 'servers/detail' if detailed else 'servers', items, limit)
    if links:
        body['servers_links'] = links
    resp.media = body


# ---- create ------------------------------------------------------------------

def _create(req: falcon.Request, resp: falcon.Response) -> None:
    body = util.validated_body(req, schema_for(req, schema.TABLE).create)
    boot = server_boot.boot_request(req, body)
    admin_pass = server_boot.admin_password(body['server'])
    instances, reservation_id = util.compute_api().create(util.ctx(req), boot)
    resp.status = 202
    if util.to_bool(body['server'].get('return_reservation_id', False)):
        resp.media = {'reservation_id': reservation_id}
        return
    created = view.create(req, instances[0], body,
                          admin_pass if CONF.api.enable_instance_password else None)
    resp.set_header('Location', created['links'][0]['href'])
    resp.media = {'server': created}


# ---- update ------------------------------------------------------------------

def _pinned_az_change(instance: Instance, new: str | None) -> None:
    """Nova 2.104: unpin (null), re-pin to the current zone, or keep the value."""
    spec = build_requests.spec_get_many([instance['uuid']]).get(instance['uuid']) or {}
    current = spec.get('availability_zone')
    if new is None or new == current:
        return
    if current is not None:
        raise errors.conflict('Cannot change pinned availability zone directly. Unpin '
                              'first by setting pinned_availability_zone to null.')
    location = view.availability_zone(instance)
    if new != location:
        raise errors.conflict(f"Server can only be pinned to its current availability zone "
                              f"'{location}', but '{new}' was requested.")


def _update(req: falcon.Request, resp: falcon.Response, server_id: str) -> None:
    body = util.validated_body(req, schema_for(req, schema.TABLE).update)
    instance = get_server(req, server_id, action='update')
    changes: dict[str, Any] = {}
    s = body['server']
    mapping = {'name': 'display_name', 'description': 'display_description',
               'accessIPv4': 'access_ip_v4', 'accessIPv6': 'access_ip_v6',
               'hostname': 'hostname'}
    for field, column in mapping.items():
        if field in s:
            changes[column] = s[field]
    if 'display_name' in changes:
        changes['display_name'] = changes['display_name'].strip()
    for column in ('access_ip_v4', 'access_ip_v6'):
        if column in changes:
            changes[column] = server_boot.canonical_ip(changes[column])
    if 'pinned_availability_zone' in s:
        _pinned_az_change(instance, s['pinned_availability_zone'])
        changes['pinned_availability_zone'] = s['pinned_availability_zone']
    if changes:
        instance = util.compute_api().update(util.ctx(req), instance, changes)
    resp.media = render(req, instance, schema_for(req, view.UPDATE_SHAPE))


class Servers:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        _list(req, resp, detailed=False)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        _create(req, resp)


class ServersDetail:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        _list(req, resp, detailed=True)


class Server:
    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str) -> None:
        util.validated_query(req, schema_for(req, schema.TABLE).show_query)
        resp.media = render(req, get_server(req, server_id))

    def on_put(self, req: falcon.Request, resp: falcon.Response, server_id: str) -> None:
        _update(req, resp, server_id)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, server_id: str) -> None:
        instance = get_server(req, server_id, action='delete')
        api, ctx = util.compute_api(), util.ctx(req)
        if CONF.reclaim_instance_interval > 0:
            try:
                api.soft_delete(ctx, instance)
            except exception.InstanceInvalidState:
                # Never launched: nothing to keep, deleted at once as in Nova.
                api.delete(ctx, instance)
        else:
            api.delete(ctx, instance)
        resp.status = 204

