"""Compute API microversions: parsing the request headers, comparing versions.

What each version changed, and which of those changes mini-Nova honours, is
in docs/compute-microversions.md.
"""
from __future__ import annotations

import re
from typing import NamedTuple

from minova import exception

SERVICE_TYPE = 'compute'
HEADER = 'OpenStack-API-Version'
LEGACY_HEADER = 'X-OpenStack-Nova-API-Version'
VARY = f'{HEADER}, {LEGACY_HEADER}'

MIN_VERSION = '2.1'
MAX_VERSION = '2.104'

_VERSION_RE = re.compile(r'^([1-9]\d*)\.([1-9]\d*|0)$')


class Version(NamedTuple):
    major: int
    minor: int

    def __str__(self) -> str:
        return f'{self.major}.{self.minor}'

    def at_least(self, text: str) -> bool:
        return self >= parse(text)

    def below(self, text: str) -> bool:
        return self < parse(text)


class InvalidVersion(exception.Invalid):
    msg_fmt = ('API Version String %(version)s is of invalid format. Must be of '
               'format MajorNum.MinorNum.')


class UnacceptableVersion(exception.MinovaException):
    msg_fmt = ('Version %(req_ver)s is not supported by the API. Minimum is '
               '%(min_ver)s and maximum is %(max_ver)s.')
    code = 406


def parse(text: str) -> Version:
    m = _VERSION_RE.match(text.strip())
    if not m:
        raise InvalidVersion(version=text)
    return Version(int(m.group(1)), int(m.group(2)))


MIN = parse(MIN_VERSION)
MAX = parse(MAX_VERSION)


def _from_new_header(value: str | None) -> str | None:
    """The compute part of `OpenStack-API-Version: compute 2.60[, other 1.2]`."""
    if not value:
        return None
    for item in value.split(','):
        parts = item.strip().split(None, 1)
        if len(parts) == 2 and parts[0].lower() == SERVICE_TYPE:
            return parts[1].strip()
    return None


def negotiate(new_header: str | None, legacy_header: str | None) -> Version:
    """The version a request asks for (the new header wins over the legacy one).

    Raises InvalidVersion (400) for a malformed string and UnacceptableVersion
    (406) for one outside [MIN, MAX].
    """
    text = _from_new_header(new_header)
    if text is None and legacy_header:
        text = legacy_header.strip()
    if not text:
        return MIN
    if text.lower() == 'latest':
        return MAX
    version = parse(text)
    if not MIN <= version <= MAX:
        raise UnacceptableVersion(req_ver=text, min_ver=MIN_VERSION, max_ver=MAX_VERSION)
    return version
