"""The server name filter runs on RE2: bounded time on SQLite and for build
requests, with a literal match for what RE2 cannot compile."""
from __future__ import annotations

import time
from typing import Any

from minova.compute import listing
from minova.db import instances as inst_db
from minova.db import regexp
from tests.unit.backbone.fakes import make_instance

EVIL_NAME = 'a' * 28 + '!'
EVIL_PATTERN = '^(a+)+$'  # backtracking engines take 2**28 steps on EVIL_NAME


def _names(url: str, pattern: str) -> list[str]:
    return sorted(i['display_name'] for i in inst_db.get_all(url, {'name': pattern}))


def test_sqlite_filter_is_bounded(empty_dbs: dict[str, str]) -> None:
    url = empty_dbs['cell']
    for name in (EVIL_NAME, 'vm-1', 'vm-2', '(ab', 'a' * 10):
        make_instance(url, display_name=name)
    start = time.monotonic()
    assert _names(url, EVIL_PATTERN) == ['a' * 10]
    assert time.monotonic() - start < 1
    assert _names(url, '^vm-') == ['vm-1', 'vm-2']
    assert _names(url, '(ab') == ['(ab']  # not a pattern: the literal name
    assert _names(url, r'(a)\1') == []  # backreferences need backtracking: literal


def test_build_request_matcher_is_bounded() -> None:
    start = time.monotonic()
    assert not listing.build_request_matches({'display_name': EVIL_NAME}, {'name': EVIL_PATTERN})
    assert time.monotonic() - start < 1
    assert listing.build_request_matches({'display_name': 'vm-1'}, {'name': 'm-'})
    assert listing.build_request_matches({'display_name': '(ab'}, {'name': '(ab'})
    assert not listing.build_request_matches({'display_name': 'x\ud800'}, {'name': 'x'})
    # every other regex filter (2.83) is bounded the same way
    assert not listing.build_request_matches({'key_name': EVIL_NAME},
                                             {'regex': {'key_name': EVIL_PATTERN}})


def test_without_re2_names_match_exactly(monkeypatch: Any) -> None:
    monkeypatch.setattr(regexp, 're2', None)
    regexp.compile_pattern.cache_clear()
    try:
        assert regexp.search('^vm', 'vm-1') is False
        assert regexp.search('vm-1', 'vm-1') is True
    finally:
        regexp.compile_pattern.cache_clear()
