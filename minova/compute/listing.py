"""Ordering and filtering of server lists in Python, with the semantics of
minova/db/instances.py: merging cells' pages, and the build requests (servers
not in a cell yet) that the cell queries cannot see."""
from __future__ import annotations

import datetime
from typing import Any

from minova import utils
from minova.db import instances, regexp


def _sort_value(value: Any) -> tuple[int, Any]:
    # NULL first, then values; mixed types compare by their string form.
    if value is None:
        return (0, '')
    if isinstance(value, bool):
        return (1, int(value))
    return (1, value)


def compare(keys: list[str], dirs: list[str], a: dict[str, Any], b: dict[str, Any]) -> int:
    for key, direction in zip(keys, dirs, strict=True):
        va, vb = _sort_value(a.get(key)), _sort_value(b.get(key))
        try:
            c = (va > vb) - (va < vb)
        except TypeError:
            sa_, sb_ = str(va), str(vb)
            c = (sa_ > sb_) - (sa_ < sb_)
        if c:
            return -c if direction == 'desc' else c
    return 0


def _as_text(value: Any) -> str:
    """A column value as the DB's text form (what a regex filter matches)."""
    if isinstance(value, datetime.datetime):
        return value.strftime('%Y-%m-%d %H:%M:%S.%f')
    return str(value)


def _regex_matches(value: Any, pattern: str) -> bool:
    """As the cell query matches: RE2 on the text (minova/db/regexp.py)."""
    if value is None:
        return False
    return regexp.search(pattern, _as_text(value))


def _tags_match(name: str, have: list[str], tags: list[str]) -> bool:
    hits = [t in have for t in tags]
    match = all(hits) if name in ('tags', 'not-tags') else any(hits)
    return not match if name.startswith('not-') else match


def build_request_matches(inst: dict[str, Any], filters: dict[str, Any]) -> bool:
    """Apply list filters to a build request (which has no host yet), with the
    semantics of minova/db/instances.py."""
    for key, value in filters.items():
        if key in ('deleted',):
            if value:
                return False
            continue
        if key in ('changes-since', 'changes-before'):
            stamp = utils.parse_time(value)
            created = inst.get('created_at')
            if created is None:
                continue
            if key == 'changes-since' and created < stamp:
                return False
            if key == 'changes-before' and created > stamp:
                return False
            continue
        if key in ('name', 'regex'):
            patterns = {'display_name': value} if key == 'name' else value
            if not all(_regex_matches(inst.get(col), str(p)) for col, p in patterns.items()
                       if col in instances.REGEX_COLUMNS):
                return False
            continue
        if key in instances.TAG_FILTERS:
            if value and not _tags_match(key, list(inst.get('tags') or []), list(value)):
                return False
            continue
        if key == 'flavor':
            if str((inst.get('flavor') or {}).get('flavorid')) != str(value):
                return False
            continue
        if key in ('ip', 'ip6'):
            return False   # no addresses before a host is chosen
        field = instances.EXACT_FILTERS.get(key)
        if field is None:
            continue
        have = inst.get(field)
        if isinstance(value, list | tuple | set):
            if have not in value:
                return False
        elif have != value:
            return False
    return True
