"""Small helpers the handlers share: body, query string, links, paging."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import falcon

from minova import context, utils
from minova.api import errors, validation
from minova.api.schemas.types import FALSE_STRINGS, TRUE_STRINGS
from minova.conf import CONF
from minova.context import RequestContext
from minova.wsgi import request_body

if TYPE_CHECKING:
    from minova.compute.api import API


def ctx(req: falcon.Request) -> RequestContext:
    found: RequestContext = req.context.ctx
    return found


def user_id(req: falcon.Request) -> str:
    """The caller's user (minova.context.user_id)."""
    return context.user_id(ctx(req))


def project_id(req: falcon.Request) -> str:
    """The caller's project, as the DB and quota functions take it
    (minova.context.project_id: an unscoped token's None passes as it always did)."""
    return context.project_id(ctx(req))


def read_body(req: falcon.Request) -> Any:
    """The JSON body; 400 "Malformed request body" when it is not JSON, and a
    400 naming the field when it holds text no database can store."""
    raw = req.bounded_stream.read()
    if not raw or not raw.strip():
        return None
    try:
        return request_body.loads(raw)
    except request_body.BadText as e:
        field = e.path[-1] if e.path else 'body'
        raise errors.bad_request(
            f'Invalid input for field/attribute {request_body.printable(str(field))}. '
            f'Value: {request_body.printable(e.value or "")}. {e.reason}') from None
    except request_body.Malformed as e:
        if 'nested deeper' in e.reason:
            raise errors.bad_request(f'Malformed request body: {e.reason}') from None
        raise errors.bad_request('Malformed request body') from None


def action_name(body: Any) -> str:
    """The one key of an action body (`{"os-stop": null}`), or Nova's 400.

    The caller answers an unknown name with 400 "There is no such action: <name>",
    before it looks the resource up, as Nova does.
    """
    if not isinstance(body, dict) or len(body) != 1:
        raise errors.bad_request('Malformed request body')
    return next(iter(body))


def validated_body(req: falcon.Request, schema: dict[str, Any]) -> dict[str, Any]:
    body = read_body(req)
    if body is None:
        body = {}
    validation.validate_body(schema, body)
    return body


def query(req: falcon.Request) -> dict[str, list[str]]:
    """The query string as {name: [values...]} (Nova's shape for validation)."""
    out: dict[str, list[str]] = {}
    for name, value in req.params.items():
        out[name] = list(value) if isinstance(value, list) else [value]
    return out


def validated_query(req: falcon.Request, schema: dict[str, Any]) -> dict[str, list[str]]:
    params = query(req)
    validation.validate_query(schema, params)
    return params


def last(params: dict[str, list[str]], name: str, default: Any = None) -> Any:
    values = params.get(name)
    return values[-1] if values else default


def to_bool(value: Any, name: str = 'value') -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_STRINGS:
        return True
    if text in FALSE_STRINGS:
        return False
    raise errors.bad_request(f"Unrecognized value '{value}', acceptable values are: "
                             f"{', '.join(TRUE_STRINGS + FALSE_STRINGS)}")


def limit_marker(params: dict[str, list[str]]) -> tuple[int, str | None]:
    """(limit, marker) with limit capped at [api] max_limit."""
    raw = last(params, 'limit')
    limit = CONF.api.max_limit
    if raw is not None:
        try:
            limit = int(raw)
        except ValueError:
            raise errors.bad_request('limit param must be an integer') from None
        if limit < 0:
            raise errors.bad_request('limit param must be positive')
        limit = min(limit, CONF.api.max_limit)
    return limit, last(params, 'marker')


def parse_time_param(value: str, name: str) -> Any:
    try:
        return utils.parse_time(value)
    except (ValueError, TypeError):
        raise errors.bad_request(f'Invalid {name} value') from None


# ---- links ----------------------------------------------------------------

def _base(req: falcon.Request) -> str:
    return req.prefix.rstrip('/')


def _project_part(req: falcon.Request) -> str:
    project = getattr(req.context, 'project_in_url', None)
    return f'/{project}' if project else ''


def self_url(req: falcon.Request, *parts: str) -> str:
    return f'{_base(req)}/v2.1{_project_part(req)}/' + '/'.join(parts)


def bookmark_url(req: falcon.Request, *parts: str) -> str:
    return f'{_base(req)}{_project_part(req)}/' + '/'.join(parts)


def links(req: falcon.Request, collection: str, ident: str) -> list[dict[str, str]]:
    return [{'rel': 'self', 'href': self_url(req, collection, ident)},
            {'rel': 'bookmark', 'href': bookmark_url(req, collection, ident)}]


def next_link(req: falcon.Request, path: str, marker: str,
              params: dict[str, list[str]] | None = None) -> list[dict[str, str]]:
    """`[{"rel": "next", "href": ...?limit=..&marker=<last>}]` keeping the filters."""
    items: list[tuple[str, str]] = []
    for name, values in (params if params is not None else query(req)).items():
        if name == 'marker':
            continue
        items.extend((name, v) for v in values)
    items.append(('marker', marker))
    return [{'rel': 'next', 'href': self_url(req, path) + '?' + urlencode(items)}]


def page_links(req: falcon.Request, path: str, items: list[dict[str, Any]], limit: int,
               key: str = 'id') -> list[dict[str, str]] | None:
    """Next link when the page is full (Nova adds it whenever len == limit)."""
    if items and limit and len(items) >= limit:
        return next_link(req, path, str(items[-1][key]))
    return None


def set_json(resp: falcon.Response, body: Any, status: int = 200) -> None:
    resp.status = status
    resp.media = body


# ---- the compute layer --------------------------------------------------------

_compute_api: API | None = None


def compute_api() -> API:
    """The minova.compute.api.API the handlers call (replaceable in tests)."""
    global _compute_api
    if _compute_api is None:
        # Imported on first use: it brings the RPC clients, which only the
        # handlers that act on servers need.
        from minova.compute.api import API
        _compute_api = API()
    return _compute_api


def set_compute_api(api: API | None) -> None:
    global _compute_api
    _compute_api = api
