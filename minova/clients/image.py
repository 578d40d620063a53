"""Image service v2 client for compute and the API (keystoneauth1).

Configured from [glance] like the placement client from [placement]: with an
auth_type it authenticates and finds the endpoint in the service catalog
(or endpoint_override); without one it talks to api_servers[0] with a
noauth token, which is what the embedded minova-image expects. Either way it
speaks plain Image API v2, so an upstream Glance works as well.
"""
from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from typing import TYPE_CHECKING, Any

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exc

from minova import exception
from minova.clients import base as client_base
from minova.conf import CONF

if TYPE_CHECKING:
    from minova.context import RequestContext

LOG = logging.getLogger(__name__)

CHUNK = 1 << 20
# The Image API v2's JSON-patch media type (image updates).
PATCH_CONTENT_TYPE = 'application/openstack-images-v2.1-json-patch'


class ImageNotFound(exception.NotFound):
    msg_fmt = 'Image %(image_id)s could not be found.'


class ImageUnusable(exception.Invalid):
    msg_fmt = 'Image %(image_id)s is unusable: %(reason)s'


class ImageServiceUnavailable(exception.MinovaException):
    msg_fmt = 'The Image service could not be reached: %(reason)s'
    code = 503


def configured() -> bool:
    """Whether an Image service is configured at all (else images go unchecked)."""
    return bool(CONF.glance.api_servers or CONF.glance.auth_type
                or CONF.glance.endpoint_override)


class Client(client_base.Client):
    """The Image API v2 calls mini-Nova makes."""

    def _build_adapter(self) -> ks_adapter.Adapter:
        """The [glance] adapter; api_servers, when set, name the endpoint."""
        first = CONF.glance.api_servers[0] if CONF.glance.api_servers else None
        return client_base.adapter_from_conf(
            'glance', 'image', first or 'http://127.0.0.1:9292', 'admin:admin',
            endpoint_override=None if CONF.glance.endpoint_override else first)

    def _get(self, ctx: RequestContext | None, path: str, **kw: Any) -> Any:
        headers = {'Accept': kw.pop('accept', 'application/json')}
        if ctx is not None and getattr(ctx, 'global_request_id', None):
            headers['X-OpenStack-Request-ID'] = ctx.global_request_id
        try:
            return self.adapter.get(path, headers=headers, raise_exc=False, **kw)
        except ks_exc.ConnectionError as e:
            raise ImageServiceUnavailable(reason=str(e)) from e
        except (ks_exc.EndpointNotFound, ks_exc.DiscoveryFailure) as e:
            raise ImageServiceUnavailable(reason=str(e)) from e

    def show(self, ctx: RequestContext | None, image_id: str) -> dict[str, Any]:
        """The image record (properties at the top level, as v2 returns them)."""
        resp = self._get(ctx, f'/v2/images/{image_id}')
        if resp.status_code == 404:
            raise ImageNotFound(image_id=image_id)
        if resp.status_code != 200:
            raise ImageServiceUnavailable(reason=f'GET image {image_id}: {resp.status_code} '
                                                 f'{resp.text[:200]}')
        return resp.json()

    def download(self, ctx: RequestContext | None, image: dict[str, Any], dest: str) -> None:
        """Write the image data to dest (atomically), checking size and checksum."""
        image_id = image['id']
        if image.get('status') != 'active':
            raise ImageUnusable(image_id=image_id,
                                reason=f"its status is {image.get('status')}, not active")
        last: Exception | None = None
        for attempt in range(CONF.glance.num_retries + 1):
            try:
                self._download_once(ctx, image, dest)
                return
            except (ImageServiceUnavailable, OSError) as e:
                last = e
                LOG.warning('Download of image %s failed (attempt %d): %s', image_id,
                            attempt + 1, e)
                time.sleep(min(2 ** attempt, 5))
        raise ImageServiceUnavailable(reason=f'download of image {image_id} failed: {last}')

    def _download_once(self, ctx: RequestContext | None, image: dict[str, Any],
                       dest: str) -> None:
        image_id = image['id']
        resp = self._get(ctx, f'/v2/images/{image_id}/file', accept='application/octet-stream',
                         stream=True)
        if resp.status_code == 404:
            raise ImageNotFound(image_id=image_id)
        if resp.status_code != 200:
            raise ImageServiceUnavailable(reason=f'GET image data {image_id}: '
                                                 f'{resp.status_code}')
        md5, size = hashlib.md5(usedforsecurity=False), 0
        tmp = f'{dest}.part'
        try:
            with open(tmp, 'wb') as f:
                for chunk in resp.iter_content(CHUNK):
                    md5.update(chunk)
                    size += len(chunk)
                    f.write(chunk)
            if image.get('size') is not None and size != image['size']:
                raise ImageServiceUnavailable(reason=f'image {image_id}: got {size} bytes, '
                                                     f'expected {image["size"]}')
            if image.get('checksum') and md5.hexdigest() != image['checksum']:
                raise ImageServiceUnavailable(reason=f'image {image_id}: checksum mismatch')
            os.replace(tmp, dest)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


    # -- snapshots (the compute host's side of createImage / createBackup) ------

    def _request(self, method: str, path: str, content_type: str | None = None,
                 **kw: Any) -> Any:
        headers = {'Accept': 'application/json'}
        if content_type:
            headers['Content-Type'] = content_type
        try:
            return self.adapter.request(path, method, raise_exc=False, headers=headers, **kw)
        except (ks_exc.ConnectionError, ks_exc.EndpointNotFound,
                ks_exc.DiscoveryFailure) as e:
            raise ImageServiceUnavailable(reason=str(e)) from e

    def upload(self, image_id: str, path: str, disk_format: str,
               container_format: str = 'bare') -> None:
        """The snapshot's formats set, then its data sent (PUT /v2/images/{id}/file):
        the image goes queued -> saving -> active, as Nova's upload does it."""
        ops = [{'op': 'add', 'path': '/disk_format', 'value': disk_format},
               {'op': 'add', 'path': '/container_format', 'value': container_format}]
        resp = self._request('PATCH', f'/v2/images/{image_id}',
                             content_type=PATCH_CONTENT_TYPE, json=ops)
        if resp.status_code == 404:
            raise ImageNotFound(image_id=image_id)
        if resp.status_code != 200:
            raise ImageServiceUnavailable(reason=f'PATCH image {image_id}: '
                                                 f'{resp.status_code} {resp.text[:200]}')
        with open(path, 'rb') as f:
            resp = self._request('PUT', f'/v2/images/{image_id}/file',
                                 content_type='application/octet-stream', data=f)
        if resp.status_code == 404:
            raise ImageNotFound(image_id=image_id)
        if resp.status_code not in (200, 204):
            raise ImageServiceUnavailable(reason=f'PUT image data {image_id}: '
                                                 f'{resp.status_code} {resp.text[:200]}')

    def list_all(self, filters: dict[str, str]) -> list[dict[str, Any]]:
        """Every image matching filters (any project's), newest first."""
        images: list[dict[str, Any]] = []
        marker = None
        while True:
            params = dict(filters, sort_key='created_at', sort_dir='desc', limit='100')
            if marker:
                params['marker'] = marker
            resp = self._request('GET', '/v2/images', params=params)
            if resp.status_code != 200:
                raise ImageServiceUnavailable(reason=f'GET images: {resp.status_code}')
            page = resp.json().get('images', [])
            images += page
            if len(page) < 100:
                return images
            marker = page[-1]['id']

    def delete_image(self, image_id: str) -> None:
        """Delete an image; one already gone raises ImageNotFound."""
        resp = self._request('DELETE', f'/v2/images/{image_id}')
        if resp.status_code == 404:
            raise ImageNotFound(image_id=image_id)
        if resp.status_code not in (200, 204):
            raise ImageServiceUnavailable(reason=f'DELETE image {image_id}: '
                                                 f'{resp.status_code}')

    def endpoint(self) -> str:
        """The image service's base URL (the Location of a snapshot, as Nova's)."""
        url = self.adapter.get_endpoint() or ''
        return url.rstrip('/')


class ImageForbidden(exception.Forbidden):
    msg_fmt = 'You are not allowed to delete the image.'


class ImageNotAuthorized(exception.Forbidden):
    msg_fmt = 'Not authorized for image %(image_id)s.'


def _as_caller(ctx: RequestContext) -> Any:
    """keystoneauth1 auth that acts as the caller (the compute API's image proxy):
    the caller's token and catalog with Keystone, a noauth user:project token
    without it."""
    if CONF.glance.auth_type:
        return client_base.user_auth_plugin(ctx)
    from keystoneauth1 import token_endpoint
    first = CONF.glance.api_servers[0] if CONF.glance.api_servers else None
    endpoint = CONF.glance.endpoint_override or first or 'http://127.0.0.1:9292'
    return token_endpoint.Token(endpoint, f'{ctx.user_id}:{ctx.project_id}')


_shared: tuple[tuple[Any, ...], Client] | None = None
_shared_lock = threading.Lock()


def shared_client() -> Client:
    """One client (and session) per process, rebuilt when [glance] changes."""
    global _shared
    key = (tuple(CONF.glance.api_servers or ()), CONF.glance.auth_type,
           CONF.glance.endpoint_override)
    with _shared_lock:
        if _shared is None or _shared[0] != key:
            _shared = (key, Client())
        return _shared[1]


class CallerImageClient(Client):
    """Image API calls made on a caller's behalf (GET/DELETE /images, 2.1-2.35,
    and /images/{id}/metadata, 2.1-2.38):
    the image service decides what the caller may see and delete."""

    def _call(self, ctx: RequestContext, method: str, path: str,
              content_type: str | None = None, **kw: Any) -> Any:
        headers = {'Accept': 'application/json'}
        if content_type:
            headers['Content-Type'] = content_type
        try:
            return self.adapter.request(path, method, auth=_as_caller(ctx), raise_exc=False,
                                        headers=headers, **kw)
        except (ks_exc.ConnectionError, ks_exc.EndpointNotFound,
                ks_exc.DiscoveryFailure) as e:
            raise ImageServiceUnavailable(reason=str(e)) from e

    def list(self, ctx: RequestContext, filters: dict[str, str], limit: int | None = None,
             marker: str | None = None) -> list[dict[str, Any]]:
        """One page of images (Image API v2 filters, `limit`, `marker`)."""
        params = dict(filters)
        if limit is not None:
            params['limit'] = str(limit)
        if marker:
            params['marker'] = marker
        resp = self._call(ctx, 'GET', '/v2/images', params=params)
        if resp.status_code == 400:
            raise exception.Invalid(resp.text[:300])
        if resp.status_code != 200:
            raise ImageServiceUnavailable(reason=f'GET images: {resp.status_code}')
        return resp.json().get('images', [])

    def get(self, ctx: RequestContext, image_id: str) -> dict[str, Any]:
        resp = self._call(ctx, 'GET', f'/v2/images/{image_id}')
        if resp.status_code in (400, 404):
            raise ImageNotFound(image_id=image_id)
        if resp.status_code != 200:
            raise ImageServiceUnavailable(reason=f'GET image {image_id}: {resp.status_code}')
        return resp.json()

    def delete(self, ctx: RequestContext, image_id: str) -> None:
        resp = self._call(ctx, 'DELETE', f'/v2/images/{image_id}')
        if resp.status_code in (400, 404):
            raise ImageNotFound(image_id=image_id)
        if resp.status_code == 403:
            raise ImageForbidden()
        if resp.status_code not in (200, 204):
            raise ImageServiceUnavailable(reason=f'DELETE image {image_id}: '
                                                 f'{resp.status_code}')

    def create(self, ctx: RequestContext, values: dict[str, Any]) -> dict[str, Any]:
        """A new image record (status queued) owned by the caller's project."""
        resp = self._call(ctx, 'POST', '/v2/images', content_type='application/json',
                          json=values)
        if resp.status_code == 403:
            raise exception.Forbidden(resp.text[:300])
        if resp.status_code in (400, 409, 413):
            raise exception.Invalid(resp.text[:300])
        if resp.status_code != 201:
            raise ImageServiceUnavailable(reason=f'POST image: {resp.status_code}')
        created: dict[str, Any] = resp.json()
        return created

    def set_properties(self, ctx: RequestContext, image: dict[str, Any],
                       old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
        """Make the image's properties `new` (they were `old`): one JSON patch
        that adds, replaces and removes them, as Nova's purge_props update does.
        Returns the updated image."""
        ops: list[dict[str, Any]] = []
        for key, value in new.items():
            if key not in old:
                ops.append({'op': 'add', 'path': f'/{key}', 'value': value})
            elif old[key] != value:
                ops.append({'op': 'replace', 'path': f'/{key}', 'value': value})
        ops += [{'op': 'remove', 'path': f'/{key}'} for key in old if key not in new]
        if not ops:
            return image
        image_id = image['id']
        resp = self._call(ctx, 'PATCH', f'/v2/images/{image_id}',
                          content_type=PATCH_CONTENT_TYPE, json=ops)
        if resp.status_code == 404:
            raise ImageNotFound(image_id=image_id)
        if resp.status_code == 403:
            raise ImageNotAuthorized(image_id=image_id)
        if resp.status_code in (400, 409, 413):
            raise exception.Invalid(resp.text[:300])
        if resp.status_code != 200:
            raise ImageServiceUnavailable(reason=f'PATCH image {image_id}: '
                                                 f'{resp.status_code}')
        updated: dict[str, Any] = resp.json()
        return updated
