"""Compute API microversions: parsing the request headers, comparing versions.

What each version changed, and which of those changes mini-Nova honours, is
in docs/compute-microversions.md.
"""
from __future__ import annotations

from minova import exception
from minova.wsgi import microversions

SERVICE_TYPE = 'compute'
HEADER = 'OpenStack-API-Version'
LEGACY_HEADER = 'X-OpenStack-Nova-API-Version'
VARY = f'{HEADER}, {LEGACY_HEADER}'

MIN_VERSION = '2.1'
MAX_VERSION = '2.104'

Version = microversions.Version


class InvalidVersion(exception.Invalid):
    msg_fmt = ('API Version String %(version)s is of invalid format. Must be of '
               'format MajorNum.MinorNum.')


class UnacceptableVersion(exception.MinovaException):
    msg_fmt = ('Version %(req_ver)s is not supported by the API. Minimum is '
               '%(min_ver)s and maximum is %(max_ver)s.')
    code = 406


def parse(text: str) -> Version:
    version = microversions.parse_or_none(text)
    if version is None:
        raise InvalidVersion(version=text)
    return version


MIN = parse(MIN_VERSION)
MAX = parse(MAX_VERSION)


def negotiate(new_header: str | None, legacy_header: str | None) -> Version:
    """The version a request asks for (the new header wins over the legacy one).

    Raises InvalidVersion (400) for a malformed string and UnacceptableVersion
    (406) for one outside [MIN, MAX].
    """
    text = microversions.for_service(new_header, SERVICE_TYPE)
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
