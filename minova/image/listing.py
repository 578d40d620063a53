"""GET /v2/images: Glance's filters, sorting, paging and visibility rules.

What openstackclient and openstacksdk send, with Glance's meaning and Glance's
400s for bad values:

* ``id``, ``name``, ``status``, ``container_format``, ``disk_format``: exact,
  or ``in:a,b`` (values may be double-quoted to hold a comma), or ``eq:a``;
* ``visibility`` (public, private, shared, community, all), ``owner``,
  ``member_status`` (accepted, pending, rejected, all; only shared images have
  members and this service keeps none, so it narrows nothing else),
  ``tag`` (repeatable: every tag must be there), ``os_hidden`` (hidden images
  are left out unless ``os_hidden=true``), ``protected``, ``size_min``,
  ``size_max``, ``created_at``/``updated_at`` (``gt|gte|eq|neq|lt|lte:<time>``)
  and any other key as an exact match on an extra property;
* ``sort_key``/``sort_dir`` (repeatable or comma separated) or
  ``sort=key[:dir],...``, never both; default ``created_at`` desc, then id;
* ``limit`` (default 25, at most 1000) and ``marker``.

Without a visibility filter a project sees what Glance shows it: public
images and its own private, shared and community ones (an administrator sees
every image).
"""
from __future__ import annotations

import datetime
import functools
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import falcon

SORT_KEYS = ('name', 'status', 'container_format', 'disk_format', 'size', 'id',
             'created_at', 'updated_at')
VISIBILITIES = ('public', 'private', 'shared', 'community', 'all')
MEMBER_STATUSES = ('accepted', 'pending', 'rejected', 'all')
IN_KEYS = ('id', 'name', 'status', 'container_format', 'disk_format')
TIME_OPS = ('gt', 'gte', 'eq', 'neq', 'lt', 'lte')
DEFAULT_LIMIT = 25
MAX_LIMIT = 1000
PAGING = ('limit', 'marker', 'sort', 'sort_key', 'sort_dir')


def _bad(msg: str) -> falcon.HTTPError:
    return falcon.HTTPBadRequest(title='Bad Request', description=msg)


@dataclass
class Query:
    limit: int = DEFAULT_LIMIT
    marker: str | None = None
    sort: list[tuple[str, str]] = field(default_factory=list)
    visibility: str | None = None
    member_status: str = 'accepted'
    tags: list[str] = field(default_factory=list)
    os_hidden: bool = False
    # (key, op, value): op is one of 'eq', 'in', 'min', 'max' or a TIME_OPS one.
    conditions: list[tuple[str, str, Any]] = field(default_factory=list)


def _many(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


def _one(value: Any) -> str:
    return value[-1] if isinstance(value, list) else value


def _bool(key: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ('true', '1', 'yes', 'on', 't', 'y'):
        return True
    if lowered in ('false', '0', 'no', 'off', 'f', 'n'):
        return False
    raise _bad(f"Invalid value '{value}' for '{key}' filter. Valid values are 'true' or "
               "'false'.")


def split_in(value: str) -> list[str]:
    """`a,"b,c",d` -> ['a', 'b,c', 'd'] (Glance's quoting of in: lists)."""
    out: list[str] = []
    cur, quoted, was_quoted = '', False, False
    for ch in value:
        if ch == '"':
            quoted, was_quoted = not quoted, True
        elif ch == ',' and not quoted:
            out.append(cur if was_quoted else cur.strip())
            cur, was_quoted = '', False
        else:
            cur += ch
    if quoted:
        raise _bad(f'Invalid filter value {value}. The quote is not closed.')
    out.append(cur if was_quoted else cur.strip())
    return out


def _time(value: str) -> datetime.datetime:
    try:
        parsed = datetime.datetime.fromisoformat(value.replace('Z', '+00:00'))
    except ValueError:
        raise _bad(f'Invalid time format for {value}.') from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(datetime.UTC).replace(tzinfo=None)
    return parsed


def _sorting(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    def key_ok(key: str) -> str:
        if key not in SORT_KEYS:
            raise _bad(f"Invalid sort key: {key}. It should be one of the following: "
                       f"{', '.join(SORT_KEYS)}.")
        return key

    def dir_ok(direction: str) -> str:
        if direction not in ('asc', 'desc'):
            raise _bad(f'Invalid sort direction: {direction}')
        return direction

    if 'sort' in params:
        if 'sort_key' in params or 'sort_dir' in params:
            raise _bad('Old and new sorting syntax cannot be combined')
        out = []
        for item in ','.join(_many(params['sort'])).split(','):
            key, _, direction = item.strip().partition(':')
            out.append((key_ok(key.strip()), dir_ok(direction.strip() or 'desc')))
        return out
    keys = [k.strip() for v in _many(params.get('sort_key', [])) for k in v.split(',')]
    dirs = [d.strip() for v in _many(params.get('sort_dir', [])) for d in v.split(',')]
    keys = [key_ok(k) for k in keys if k] or ['created_at']
    dirs = [dir_ok(d) for d in dirs if d]
    if len(dirs) > 1 and len(dirs) != len(keys):
        raise _bad('Number of sort dirs does not match the number of sort keys')
    if len(dirs) <= 1:
        dirs = [dirs[0] if dirs else 'desc'] * len(keys)
    return list(zip(keys, dirs, strict=True))


def parse(params: Mapping[str, Any]) -> Query:
    q = Query(sort=_sorting(params))
    if 'limit' in params:
        try:
            limit = int(_one(params['limit']))
        except ValueError:
            raise _bad('limit param must be an integer') from None
        if limit < 0:
            raise _bad('limit param must be positive')
        q.limit = min(limit, MAX_LIMIT)
    if 'marker' in params:
        q.marker = _one(params['marker'])
    for key, raw in params.items():
        if key in PAGING:
            continue
        if key == 'tag':
            q.tags = _many(raw)
            continue
        value = _one(raw)
        if key == 'visibility':
            if value not in VISIBILITIES:
                raise _bad(f'Invalid visibility value: {value}')
            q.visibility = value
        elif key == 'member_status':
            if value not in MEMBER_STATUSES:
                raise _bad(f'Invalid status: {value}')
            q.member_status = value
        elif key == 'os_hidden':
            q.os_hidden = _bool(key, value)
        elif key == 'protected':
            q.conditions.append((key, 'eq', _bool(key, value)))
        elif key in ('size_min', 'size_max'):
            try:
                q.conditions.append(('size', key[-3:], int(value)))
            except ValueError:
                raise _bad(f'Unable to filter on a range with a nonsensical value for '
                           f'{key}.') from None
        elif key in ('created_at', 'updated_at'):
            op, _, when = value.partition(':')
            if op not in TIME_OPS or not when:
                raise _bad(f'Unable to filter by unknown operator {op!r}.')
            q.conditions.append((key, op, _time(when)))
        elif key in IN_KEYS and value.startswith('in:'):
            q.conditions.append((key, 'in', set(split_in(value[3:]))))
        elif key in IN_KEYS and value.startswith('eq:'):
            q.conditions.append((key, 'eq', value[3:]))
        else:
            q.conditions.append((key, 'eq', value))
    return q


def can_see(image: dict[str, Any], project: str | None, is_admin: bool) -> bool:
    """Whether a project may see (show) the image at all, as Glance decides."""
    if is_admin or image.get('visibility') in ('public', 'community'):
        return True
    return project is not None and image.get('owner') == project


def visible(image: dict[str, Any], q: Query, project: str | None, is_admin: bool) -> bool:
    """Whether the image belongs in this project's listing."""
    if not can_see(image, project, is_admin):
        return False
    if image.get('os_hidden', False) != q.os_hidden:
        return False
    vis = image.get('visibility')
    if q.visibility is None:
        # Others' community images are listed only when asked for.
        return is_admin or vis != 'community' or image.get('owner') == project
    return q.visibility == 'all' or vis == q.visibility


def _image_time(image: dict[str, Any], key: str) -> datetime.datetime | None:
    value = image.get(key)
    return _time(value) if value else None


def matches(image: dict[str, Any], q: Query) -> bool:
    if any(t not in (image.get('tags') or []) for t in q.tags):
        return False
    for key, op, want in q.conditions:
        if key in ('created_at', 'updated_at'):
            have = _image_time(image, key)
            if have is None or not {
                    'gt': have > want, 'gte': have >= want, 'eq': have == want,
                    'neq': have != want, 'lt': have < want, 'lte': have <= want}[op]:
                return False
            continue
        have = image.get(key)
        if op == 'in':
            if have is None or str(have) not in want:
                return False
        elif op in ('min', 'max'):
            if have is None or (have < want if op == 'min' else have > want):
                return False
        elif isinstance(want, bool):
            if bool(have) != want:
                return False
        elif have is None or (str(have) != want if not isinstance(have, bool)
                              else str(have).lower() != want.lower()):
            return False
    return True


def sort(images: list[dict[str, Any]], q: Query) -> None:
    """In place: stable sorts from the last key to the first, id last of all."""
    images.sort(key=lambda i: i['id'], reverse=q.sort[0][1] == 'desc')
    for key, direction in reversed(q.sort):
        # None sorts first ascending (Glance: NULLs first), as the smallest.
        images.sort(key=functools.partial(_sort_key, key), reverse=direction == 'desc')


def _sort_key(k: str, i: dict[str, Any]) -> tuple[bool, Any]:
    return (i.get(k) is not None, i.get(k) or 0 if k == 'size' else str(i.get(k) or ''))


def next_link(params: Mapping[str, Any], last_id: str) -> str:
    """The `next` link: the same query with the marker moved on."""
    items = [(k, v) for k, raw in params.items() if k != 'marker' for v in _many(raw)]
    items.append(('marker', last_id))
    return '/v2/images?' + urllib.parse.urlencode(items)
