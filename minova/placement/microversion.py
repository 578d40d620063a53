"""Placement microversions: parsing the header and comparing versions.

The history of what each version changed is in docs/placement-microversions.md.
"""
from __future__ import annotations

import re
from typing import NamedTuple

SERVICE_TYPE = 'placement'
HEADER = 'OpenStack-API-Version'
MIN_VERSION = '1.0'
MAX_VERSION = '1.31'

_VERSION_RE = re.compile(r'^([1-9]\d*)\.([1-9]\d*|0)$')


class Version(NamedTuple):
    major: int
    minor: int

    def __str__(self) -> str:
        return f'{self.major}.{self.minor}'

    def matches(self, min_version: str, max_version: str | None = None) -> bool:
        """True when this version lies in [min_version, max_version]."""
        if self < parse(min_version):
            return False
        return max_version is None or self <= parse(max_version)


class InvalidVersion(ValueError):
    pass


def parse(text: str) -> Version:
    m = _VERSION_RE.match(text.strip())
    if not m:
        raise InvalidVersion(text)
    return Version(int(m.group(1)), int(m.group(2)))


MIN = parse(MIN_VERSION)
MAX = parse(MAX_VERSION)


def extract(header_value: str | None) -> str | None:
    """The placement part of an OpenStack-API-Version header, or None."""
    if not header_value:
        return None
    for item in header_value.split(','):
        parts = item.strip().split(None, 1)
        if len(parts) == 2 and parts[0].lower() == SERVICE_TYPE:
            return parts[1].strip()
    return None


def negotiate(header_value: str | None) -> Version:
    """Version the request asks for.

    Raises InvalidVersion for a malformed string (400) and
    UnacceptableVersion for one outside [MIN, MAX] (406).
    """
    text = extract(header_value)
    if text is None:
        return MIN
    if text.lower() == 'latest':
        return MAX
    version = parse(text)
    if not MIN <= version <= MAX:
        raise UnacceptableVersion(text)
    return version


class UnacceptableVersion(ValueError):
    pass
