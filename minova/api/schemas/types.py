"""Building blocks shared by the request schemas (Nova's parameter types)."""
from __future__ import annotations

from typing import Any

MAX_INT = 2 ** 31 - 1

TRUE_STRINGS = ('1', 't', 'true', 'on', 'y', 'yes')
FALSE_STRINGS = ('0', 'f', 'false', 'off', 'n', 'no')


def _case_variants(words: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for w in words:
        for v in (w, w.upper(), w.capitalize()):
            if v not in out:
                out.append(v)
    return out


boolean: dict[str, Any] = {
    'type': ['boolean', 'string'],
    'enum': [True, False, *_case_variants(TRUE_STRINGS), *_case_variants(FALSE_STRINGS)],
}

name: dict[str, Any] = {'type': 'string', 'minLength': 1, 'maxLength': 255, 'format': 'name'}

name_with_spaces: dict[str, Any] = {
    'type': 'string', 'minLength': 1, 'maxLength': 255,
    'format': 'name_with_leading_trailing_spaces',
}

description: dict[str, Any] = {
    'type': ['string', 'null'], 'minLength': 0, 'maxLength': 255,
    'pattern': r'^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$',
}

positive_integer: dict[str, Any] = {
    'type': ['integer', 'string'], 'pattern': '^[0-9]*$', 'minimum': 1, 'minLength': 1,
}

non_negative_integer: dict[str, Any] = {
    'type': ['integer', 'string'], 'pattern': '^[0-9]*$', 'minimum': 0, 'minLength': 1,
}

flavor_param_positive: dict[str, Any] = {
    'type': ['integer', 'string'], 'pattern': '^[0-9]*$', 'minimum': 1,
    'maximum': MAX_INT, 'minLength': 1,
}

flavor_param_non_negative: dict[str, Any] = {
    'type': ['integer', 'string'], 'pattern': '^[0-9]*$', 'minimum': 0,
    'maximum': MAX_INT, 'minLength': 1,
}

uuid: dict[str, Any] = {'type': 'string', 'format': 'uuid'}

metadata: dict[str, Any] = {
    'type': 'object',
    'patternProperties': {
        '^[a-zA-Z0-9-_:. ]{1,255}$': {'type': 'string', 'maxLength': 255},
    },
    'additionalProperties': False,
}

tag: dict[str, Any] = {'type': 'string', 'minLength': 1, 'maxLength': 60,
                       'pattern': '^[^,/]*$'}

hostname: dict[str, Any] = {
    'type': 'string', 'minLength': 2, 'maxLength': 63,
    'pattern': r'^[a-zA-Z0-9]+[a-zA-Z0-9-]*[a-zA-Z0-9]+$',
}

fqdn: dict[str, Any] = {
    'type': 'string', 'minLength': 1, 'maxLength': 255,
    'pattern': r'^[a-zA-Z0-9-._]*$',
}

ipv4: dict[str, Any] = {'type': 'string', 'format': 'ipv4'}
ipv6: dict[str, Any] = {'type': 'string', 'format': 'ipv6'}
ip_address: dict[str, Any] = {'type': 'string', 'oneOf': [{'format': 'ipv4'},
                                                           {'format': 'ipv6'}]}


def multi(item: dict[str, Any]) -> dict[str, Any]:
    """A query parameter (always a list of its values) whose values match `item`."""
    return {'type': 'array', 'items': item}


def query(properties: dict[str, Any], strict: bool) -> dict[str, Any]:
    """A query-string schema; strict ones reject unknown parameters (2.75/2.102)."""
    return {'type': 'object', 'properties': properties, 'additionalProperties': not strict}


# The query table of a resource that takes no query parameters: unknown ones
# are ignored, then a 400 from 2.102 (as Nova's).
NO_QUERY = [('2.1', query({}, strict=False)), ('2.102', query({}, strict=True))]
