"""/images, /images/detail, /images/{id}: Nova's deprecated image proxy (2.1-2.35),
and /images/{id}/metadata[/{key}] (2.1-2.38): an image's properties.

Backed by the Image service (minova/image_client.py), acting as the caller.
From 2.36 these URLs are 404, as Nova's. Filters as Nova's: name, status,
changes-since, server, type, minRam, minDisk and property-<key>.
"""
from __future__ import annotations

from typing import Any

import falcon
from oslo_utils import strutils

from minova import exception, quota, utils
from minova.api import errors, util, versioned
from minova.api.schemas import proxies as schema
from minova.clients import image as image_client

# Image API v2 fields that are the record, not properties (Nova's v1 view
# shows the rest under `metadata`).
_CORE = frozenset({
    'id', 'name', 'status', 'visibility', 'protected', 'size', 'virtual_size',
    'disk_format', 'container_format', 'checksum', 'os_hash_algo', 'os_hash_value',
    'created_at', 'updated_at', 'min_disk', 'min_ram', 'owner', 'tags', 'file',
    'schema', 'self', 'direct_url', 'locations', 'os_hidden', 'stores', 'deleted',
    'deleted_at', 'is_public'})
_STATUS = {'active': 'ACTIVE', 'queued': 'SAVING', 'saving': 'SAVING',
           'deleted': 'DELETED', 'pending_delete': 'DELETED', 'killed': 'ERROR'}
_PROGRESS = {'queued': 25, 'saving': 50, 'active': 100}
# Nova's query parameter -> Image API v2 filter
_FILTERS = {'name': 'name', 'status': 'status', 'server': 'instance_uuid',
            'type': 'image_type'}


def _client() -> image_client.CallerImageClient:
    return image_client.CallerImageClient()


def _links(req: falcon.Request, image_id: str) -> list[dict[str, str]]:
    links = util.links(req, 'images', image_id)
    base = (image_client.CONF.glance.api_servers or ['http://127.0.0.1:9292'])[0]
    links.append({'rel': 'alternate', 'type': 'application/vnd.openstack.image',
                  'href': f"{base.rstrip('/')}/images/{image_id}"})
    return links


def basic(req: falcon.Request, image: dict[str, Any]) -> dict[str, Any]:
    return {'id': image['id'], 'name': image.get('name'), 'links': _links(req, image['id'])}


def properties_of(image: dict[str, Any]) -> dict[str, Any]:
    """An image's properties: its metadata in Nova's image views."""
    return {k: v for k, v in image.items() if k not in _CORE}


def detail(req: falcon.Request, image: dict[str, Any]) -> dict[str, Any]:
    properties = properties_of(image)
    out: dict[str, Any] = {
        'id': image['id'], 'name': image.get('name'),
        'minRam': int(image.get('min_ram') or 0), 'minDisk': int(image.get('min_disk') or 0),
        'metadata': properties,
        'created': utils.isotime(image['created_at']) if image.get('created_at') else None,
        'updated': utils.isotime(image['updated_at']) if image.get('updated_at') else None,
        'status': _STATUS.get(image.get('status') or '', 'UNKNOWN'),
        'progress': _PROGRESS.get(image.get('status') or '', 0),
        'OS-EXT-IMG-SIZE:size': image.get('size'),
        'links': _links(req, image['id']),
    }
    server = properties.get('instance_uuid')
    if server is not None:
        out['server'] = {'id': server, 'links': util.links(req, 'servers', server)}
    if properties.get('auto_disk_config') is not None:
        auto = strutils.bool_from_string(properties['auto_disk_config'])
        out['OS-DCF:diskConfig'] = 'AUTO' if auto else 'MANUAL'
    return out


def _filters(params: dict[str, list[str]]) -> tuple[dict[str, str], dict[str, int]]:
    """(Image API v2 filters, {min_ram/min_disk: n} checked here)."""
    out: dict[str, str] = {}
    for name, key in _FILTERS.items():
        if name in params:
            value = util.last(params, name)
            out[key] = value.rsplit('/', 1)[-1] if name == 'server' else value
    if 'status' in out:
        out['status'] = out['status'].lower()
    if 'changes-since' in params:
        out['updated_at'] = 'gte:' + util.last(params, 'changes-since')
    for name in params:
        if name.startswith('property-'):
            out[name[len('property-'):]] = util.last(params, name)
    minimums = {}
    for name, key in (('minRam', 'min_ram'), ('minDisk', 'min_disk')):
        if name in params:
            try:
                minimums[key] = int(util.last(params, name))
            except ValueError:
                raise errors.bad_request(f'Invalid {name} filter') from None
    return out, minimums


def _list(req: falcon.Request, resp: falcon.Response, detailed: bool) -> None:
    params = util.validated_query(req, versioned.require(req, schema.IMAGES))
    filters, minimums = _filters(params)
    limit, marker = util.limit_marker(params)
    try:
        images = _client().list(util.ctx(req), filters, limit, marker)
    except image_client.ImageNotFound as e:
        raise errors.bad_request(e.message) from None
    images = [i for i in images
              if all((i.get(k) or 0) >= v for k, v in minimums.items())]
    items = [(detail if detailed else basic)(req, i) for i in images]
    body: dict[str, Any] = {'images': items}
    links = util.page_links(req, 'images/detail' if detailed else 'images', items, limit)
    if links:
        body['images_links'] = links
    resp.media = body


class Images:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        _list(req, resp, detailed=False)


class ImagesDetail:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        _list(req, resp, detailed=True)


class Image:
    def on_get(self, req: falcon.Request, resp: falcon.Response, image_id: str) -> None:
        util.validated_query(req, versioned.require(req, schema.IMAGES))
        try:
            image = _client().get(util.ctx(req), image_id)
        except image_client.ImageNotFound:
            raise errors.not_found('Image not found.') from None
        resp.media = {'image': detail(req, image)}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, image_id: str) -> None:
        versioned.require(req, schema.IMAGES)
        try:
            _client().delete(util.ctx(req), image_id)
        except image_client.ImageNotFound:
            raise errors.not_found('Image not found.') from None
        resp.status = 204


def _image(req: falcon.Request, image_id: str) -> dict[str, Any]:
    try:
        return _client().get(util.ctx(req), image_id)
    except image_client.ImageNotFound:
        raise errors.not_found('Image not found.') from None


def _check_quota(req: falcon.Request, metadata: dict[str, Any]) -> None:
    """More properties than the metadata_items quota: 403, as Nova's."""
    if not metadata:
        return
    try:
        quota.enforce_metadata_items(util.project_id(req), len(metadata))
    except exception.MetadataLimitExceeded:
        raise errors.HTTPFault(403, 'Image metadata limit exceeded') from None


def _store(req: falcon.Request, image: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Make `new` the image's properties; the updated properties."""
    try:
        updated = _client().set_properties(util.ctx(req), image, properties_of(image), new)
    except image_client.ImageNotFound:
        raise errors.not_found('Image not found.') from None
    except exception.Invalid as e:
        raise errors.bad_request(e.message) from None
    return properties_of(updated)


class ImageMetadata:
    """GET (list), POST (merge) and PUT (replace) an image's metadata."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, image_id: str) -> None:
        util.validated_query(req, versioned.require(req, schema.IMAGE_METADATA))
        resp.media = {'metadata': properties_of(_image(req, image_id))}

    def on_post(self, req: falcon.Request, resp: falcon.Response, image_id: str) -> None:
        versioned.require(req, schema.IMAGE_METADATA)
        body = util.validated_body(req, schema.IMAGE_METADATA_BODY)
        image = _image(req, image_id)
        new = {**properties_of(image), **body['metadata']}
        _check_quota(req, new)
        resp.media = {'metadata': _store(req, image, new)}

    def on_put(self, req: falcon.Request, resp: falcon.Response, image_id: str) -> None:
        versioned.require(req, schema.IMAGE_METADATA)
        body = util.validated_body(req, schema.IMAGE_METADATA_BODY)
        image = _image(req, image_id)
        _check_quota(req, body['metadata'])
        _store(req, image, body['metadata'])
        resp.media = {'metadata': body['metadata']}


class ImageMetadataItem:
    """GET, PUT and DELETE one key of an image's metadata."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, image_id: str,
               key: str) -> None:
        util.validated_query(req, versioned.require(req, schema.IMAGE_METADATA))
        properties = properties_of(_image(req, image_id))
        if key not in properties:
            raise errors.not_found()
        resp.media = {'meta': {key: properties[key]}}

    def on_put(self, req: falcon.Request, resp: falcon.Response, image_id: str,
               key: str) -> None:
        versioned.require(req, schema.IMAGE_METADATA)
        meta = util.validated_body(req, schema.IMAGE_META_BODY)['meta']
        if key not in meta:
            raise errors.bad_request('Request body and URI mismatch')
        image = _image(req, image_id)
        new = {**properties_of(image), key: meta[key]}
        _check_quota(req, new)
        _store(req, image, new)
        resp.media = {'meta': meta}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, image_id: str,
                  key: str) -> None:
        versioned.require(req, schema.IMAGE_METADATA)
        image = _image(req, image_id)
        properties = properties_of(image)
        if key not in properties:
            raise errors.not_found('Invalid metadata key')
        del properties[key]
        _store(req, image, properties)
        resp.status = 204
