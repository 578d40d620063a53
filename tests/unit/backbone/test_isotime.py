"""utils.isotime: timestamps as Nova renders them, whatever the input."""
from __future__ import annotations

import datetime

import pytest

from minova import utils


@pytest.mark.parametrize('value, text', [
    (datetime.datetime(2026, 12, 6, 10, 0, 0, 123456), '2026-12-06T10:00:00Z'),
    (datetime.datetime(2026, 1, 2, 3, 4, 5), '2026-01-02T03:04:05Z'),
    (datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
     '2026-01-02T03:04:05Z'),
    (datetime.datetime(999, 1, 1), '999-01-01T00:00:00Z'),
    ('2026-12-06T10:00:00.5', '2026-12-06T10:00:00Z'),
    (None, None),
], ids=['microseconds', 'whole-seconds', 'aware', 'year-999', 'string', 'none'])
def test_isotime(value: datetime.datetime | str | None, text: str | None) -> None:
    assert utils.isotime(value) == text
