"""Microversion strings shared by the compute and placement APIs.

Both read `OpenStack-API-Version: <service> X.Y` and compare versions as
(major, minor) pairs; each API keeps its own range and its own errors.
"""
from __future__ import annotations

import re
from typing import NamedTuple

_VERSION_RE = re.compile(r'^([1-9]\d*)\.([1-9]\d*|0)$')


class Version(NamedTuple):
    major: int
    minor: int

    def __str__(self) -> str:
        return f'{self.major}.{self.minor}'

    def at_least(self, text: str) -> bool:
        return self >= _known(text)

    def below(self, text: str) -> bool:
        return self < _known(text)

    def matches(self, min_version: str, max_version: str | None = None) -> bool:
        """True when this version lies in [min_version, max_version]."""
        if self < _known(min_version):
            return False
        return max_version is None or self <= _known(max_version)


def parse_or_none(text: str) -> Version | None:
    m = _VERSION_RE.match(text.strip())
    return Version(int(m.group(1)), int(m.group(2))) if m else None


def _known(text: str) -> Version:
    version = parse_or_none(text)
    if version is None:
        raise ValueError(f'bad microversion literal {text!r}')
    return version


def for_service(header_value: str | None, service_type: str) -> str | None:
    """The `service_type` part of `OpenStack-API-Version: compute 2.60, placement 1.2`."""
    if not header_value:
        return None
    for item in header_value.split(','):
        parts = item.strip().split(None, 1)
        if len(parts) == 2 and parts[0].lower() == service_type:
            return parts[1].strip()
    return None
