"""Placement microversions: parsing the header and comparing versions.

The history of what each version changed is in docs/placement-microversions.md.
"""
from __future__ import annotations

from minova.wsgi import microversions

SERVICE_TYPE = 'placement'
HEADER = 'OpenStack-API-Version'
MIN_VERSION = '1.0'
MAX_VERSION = '1.39'

Version = microversions.Version


class InvalidVersion(ValueError):
    pass


def parse(text: str) -> Version:
    version = microversions.parse_or_none(text)
    if version is None:
        raise InvalidVersion(text)
    return version


MIN = parse(MIN_VERSION)
MAX = parse(MAX_VERSION)


def extract(header_value: str | None) -> str | None:
    """The placement part of an OpenStack-API-Version header, or None."""
    return microversions.for_service(header_value, SERVICE_TYPE)


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
