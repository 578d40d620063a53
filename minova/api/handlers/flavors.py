"""/flavors, /flavors/detail, /flavors/{id}, extra specs and flavor access."""
from __future__ import annotations

from typing import Any

import falcon

from minova import exception
from minova.api import errors, policy, util, validation
from minova.api.schemas import flavors as schema
from minova.api.versioned import schema_for
from minova.api.views import flavors as view
from minova.db import flavors as flavors_db
from minova.db import paging
from minova.policies import flavors as pol


def _int_filter(params: dict[str, list[str]], name: str) -> int | None:
    value = util.last(params, name)
    if value is None:
        return None
    try:
        return paging.db_int(int(value))
    except ValueError:
        raise errors.bad_request(f'Invalid {name} filter [{value}]') from None


def _is_public(value: str | None) -> bool | None:
    if value is None:
        return True
    if value.lower() == 'none':
        return None
    try:
        return util.to_bool(value)
    except exception.Invalid:
        raise errors.bad_request(f'Invalid is_public filter [{value}]') from None


def _show_extra_specs(req: falcon.Request) -> bool:
    """Whether bodies may hold extra specs (from 2.61, views/flavors.py)."""
    return policy.can(util.ctx(req), pol.EXTRA_SPECS % 'index')


def _list(req: falcon.Request, resp: falcon.Response, detailed: bool) -> None:
    ctx = util.ctx(req)
    row = schema_for(req, schema.TABLE)
    params = util.validated_query(req, row.index_query)
    limit, marker = util.limit_marker(params)
    is_public = _is_public(util.last(params, 'is_public')) if ctx.is_admin else True
    try:
        found = flavors_db.get_all(
            min_memory_mb=_int_filter(params, 'minRam'),
            min_root_gb=_int_filter(params, 'minDisk'),
            is_public=is_public, project_id=ctx.project_id,
            name=util.last(params, 'name') if row.name_filter else None,
            sort_key=util.last(params, 'sort_key', 'flavorid'),
            sort_dir=util.last(params, 'sort_dir', 'asc'), limit=limit, marker=marker)
    except exception.NotFound:
        raise errors.bad_request(f'marker [{marker}] not found') from None
    if detailed:
        specs = _show_extra_specs(req)
        items = [view.detail(req, f, specs) for f in found]
    else:
        items = [view.basic(req, f) for f in found]
    body: dict[str, Any] = {'flavors': items}
    next_link = util.page_links(req, 'flavors/detail' if detailed else 'flavors', items,
                                limit)
    if next_link:
        body['flavors_links'] = next_link
    resp.media = body


def get_visible(req: falcon.Request, flavorid: str) -> flavors_db.Flavor:
    """The flavor, or 404 if it does not exist or is private to other projects."""
    ctx = util.ctx(req)
    flavor = flavors_db.get_by_flavor_id(flavorid)
    if not ctx.is_admin and not flavors_db.can_access(flavor, ctx.project_id):
        raise exception.FlavorNotFound(flavor_id=flavorid)
    return flavor


class Flavors:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        _list(req, resp, detailed=False)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        policy.authorize(util.ctx(req), pol.MANAGE % 'create', {})
        f = util.validated_body(req, schema_for(req, schema.TABLE).create)['flavor']
        values: dict[str, Any] = {
            'name': f['name'],
            'memory_mb': int(f['ram']),
            'vcpus': int(f['vcpus']),
            'root_gb': int(f['disk']),
            'ephemeral_gb': int(f.get('OS-FLV-EXT-DATA:ephemeral', 0)),
            'swap': int(f.get('swap', 0)),
            'rxtx_factor': float(f.get('rxtx_factor', 1.0)),
            'is_public': util.to_bool(f.get('os-flavor-access:is_public', True)),
            'description': f.get('description'),
            'disabled': False,
        }
        if f.get('id') is not None:
            flavorid = f['id']
            if isinstance(flavorid, float) and flavorid.is_integer():
                flavorid = int(flavorid)
            values['flavorid'] = str(flavorid)
        flavor = flavors_db.create(values)
        resp.media = {'flavor': view.detail(req, flavor, include_extra_specs=True)}


class FlavorsDetail:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        _list(req, resp, detailed=True)


class Flavor:
    def on_get(self, req: falcon.Request, resp: falcon.Response, flavor_id: str) -> None:
        util.validated_query(req, schema_for(req, schema.TABLE).show_query)
        flavor = get_visible(req, flavor_id)
        resp.media = {'flavor': view.detail(req, flavor, _show_extra_specs(req))}

    def on_put(self, req: falcon.Request, resp: falcon.Response, flavor_id: str) -> None:
        update = schema_for(req, schema.TABLE).update
        if update is None:
            raise errors.not_found()
        policy.authorize(util.ctx(req), pol.MANAGE % 'update', {})
        body = util.validated_body(req, update)
        flavor = flavors_db.update(flavor_id, {'description':
                                               body['flavor']['description']})
        resp.media = {'flavor': view.detail(req, flavor, _show_extra_specs(req))}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, flavor_id: str) -> None:
        policy.authorize(util.ctx(req), pol.MANAGE % 'delete', {})
        flavors_db.destroy(flavor_id)
        resp.status = 202


def _spec_values(specs: dict[str, Any]) -> dict[str, str]:
    out = {}
    for key, value in specs.items():
        if isinstance(value, bool):
            value = str(value)
        out[key] = str(value)
    return out


class ExtraSpecs:
    def on_get(self, req: falcon.Request, resp: falcon.Response, flavor_id: str) -> None:
        policy.authorize(util.ctx(req), pol.EXTRA_SPECS % 'index')
        resp.media = {'extra_specs': get_visible(req, flavor_id)['extra_specs']}

    def on_post(self, req: falcon.Request, resp: falcon.Response, flavor_id: str) -> None:
        policy.authorize(util.ctx(req), pol.EXTRA_SPECS % 'create', {})
        specs = _spec_values(util.validated_body(req, schema.extra_specs_create)
                             ['extra_specs'])
        flavors_db.extra_specs_update(flavor_id, specs)
        resp.media = {'extra_specs': specs}


class ExtraSpec:
    def on_get(self, req: falcon.Request, resp: falcon.Response, flavor_id: str,
               key: str) -> None:
        policy.authorize(util.ctx(req), pol.EXTRA_SPECS % 'show')
        specs = get_visible(req, flavor_id)['extra_specs']
        if key not in specs:
            raise flavors_db.FlavorExtraSpecsNotFound(flavor_id=flavor_id,
                                                      extra_specs_key=key)
        resp.media = {key: specs[key]}

    def on_put(self, req: falcon.Request, resp: falcon.Response, flavor_id: str,
               key: str) -> None:
        policy.authorize(util.ctx(req), pol.EXTRA_SPECS % 'update', {})
        body = util.validated_body(req, schema.extra_spec_update)
        if key not in body:
            raise errors.bad_request('Request body and URI mismatch')
        specs = _spec_values(body)
        flavors_db.extra_specs_update(flavor_id, specs)
        resp.media = specs

    def on_delete(self, req: falcon.Request, resp: falcon.Response, flavor_id: str,
                  key: str) -> None:
        policy.authorize(util.ctx(req), pol.EXTRA_SPECS % 'delete', {})
        flavors_db.extra_spec_delete(flavor_id, key)
        resp.status = 200  # Nova answers 200 here, 202 for a flavor delete


def _access_body(flavorid: str, projects: list[str]) -> dict[str, Any]:
    return {'flavor_access': [{'flavor_id': flavorid, 'tenant_id': p} for p in projects]}


class FlavorAccess:
    def on_get(self, req: falcon.Request, resp: falcon.Response, flavor_id: str) -> None:
        policy.authorize(util.ctx(req), pol.ACCESS, {})
        flavor = flavors_db.get_by_flavor_id(flavor_id)
        if flavor['is_public']:
            raise errors.not_found('Access list not available for public flavors.')
        resp.media = _access_body(flavor_id, flavors_db.access_list(flavor_id))


class FlavorAction:
    def on_post(self, req: falcon.Request, resp: falcon.Response, flavor_id: str) -> None:
        body = util.read_body(req)
        name = util.action_name(body)
        if name not in ('addTenantAccess', 'removeTenantAccess'):
            raise errors.bad_request(f'There is no such action: {name}')
        validation.validate_body(schema.access_action, body)
        ctx = util.ctx(req)
        if 'addTenantAccess' in body:
            policy.authorize(ctx, pol.ACCESS_ROOT % 'add_tenant_access', {})
            flavor = flavors_db.get_by_flavor_id(flavor_id)
            if flavor['is_public'] and schema_for(req, schema.TABLE).public_access_conflict:
                raise errors.conflict('Can not add access to a public flavor.')
            projects = flavors_db.access_add(flavor_id, body['addTenantAccess']['tenant'])
        else:
            policy.authorize(ctx, pol.ACCESS_ROOT % 'remove_tenant_access', {})
            projects = flavors_db.access_remove(flavor_id,
                                                body['removeTenantAccess']['tenant'])
        resp.media = _access_body(flavor_id, projects)
