"""JSON Schema validation of request bodies and query strings, with Nova's messages.

A body error reads "Invalid input for field/attribute <field>. Value: <value>.
<reason>"; a query error "Invalid input for query parameters <name>. Value:
<value>. <reason>". Query strings are validated as {name: [values...]}, so a
schema for a query parameter describes a list (see schemas/types.py multi()).
"""
from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import uuid
from typing import Any

import jsonschema

from minova import exception
from minova.wsgi import validators as schema_validators

_format_checker = jsonschema.FormatChecker(formats=())


class ValidationError(exception.Invalid):
    msg_fmt = '%(detail)s'


class InvalidName(exception.Invalid):
    msg_fmt = ("An invalid 'name' value was provided. The name must be: %(reason)s")


@_format_checker.checks('uuid')
def _check_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@_format_checker.checks('ipv4')
def _check_ipv4(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return True


@_format_checker.checks('ipv6')
def _check_ipv6(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return True


@_format_checker.checks('base64')
def _check_base64(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


_PRINTABLE_NO_EDGE_SPACE = re.compile(r'^(?!\s)[^\x00-\x1f\x7f]*(?<!\s)$')
_PRINTABLE = re.compile(r'^[^\x00-\x1f\x7f]*$')


@_format_checker.checks('name', raises=InvalidName)
def _check_name(value: object) -> bool:
    if isinstance(value, str) and not _PRINTABLE_NO_EDGE_SPACE.match(value):
        raise InvalidName(reason='printable characters. Can not start or end with '
                                 'whitespace.')
    return True


@_format_checker.checks('name_with_leading_trailing_spaces', raises=InvalidName)
def _check_name_spaces(value: object) -> bool:
    if isinstance(value, str) and (not _PRINTABLE.match(value) or not value.strip()):
        raise InvalidName(reason='printable characters with at least one non space '
                                 'character')
    return True


def _number_from_str(instance: Any) -> Any:
    """A numeric string as its number; anything else unchanged."""
    if not isinstance(instance, str):
        return instance
    try:
        return int(instance)
    except ValueError:
        try:
            return float(instance)
        except ValueError:
            return instance


def _minimum(validator: Any, minimum: Any, instance: Any, schema: Any) -> Any:
    return _DRAFT4_MINIMUM(validator, minimum, _number_from_str(instance), schema)


def _maximum(validator: Any, maximum: Any, instance: Any, schema: Any) -> Any:
    return _DRAFT4_MAXIMUM(validator, maximum, _number_from_str(instance), schema)


_DRAFT4_MINIMUM = jsonschema.Draft4Validator.VALIDATORS['minimum']
_DRAFT4_MAXIMUM = jsonschema.Draft4Validator.VALIDATORS['maximum']

# Nova's validator: Draft 4, except that minimum and maximum also bound numbers
# sent as strings ("ram": "512"), which many parameters accept. Without it
# "min_count": "0" or "ram": "99999999999999999999" pass the schema.
NovaValidator = jsonschema.validators.extend(
    jsonschema.Draft4Validator, {'minimum': _minimum, 'maximum': _maximum})


def _validator(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    return schema_validators.validator_for(schema, _format_checker, NovaValidator)


def validate_body(schema: dict[str, Any], body: Any) -> None:
    """Raise ValidationError (400) unless `body` matches `schema`."""
    try:
        _validator(schema).validate(body)
    except jsonschema.ValidationError as ex:
        raise ValidationError(detail=_detail(ex, 'field/attribute')) from None
    except TypeError as ex:  # e.g. a non-string key meeting patternProperties
        raise ValidationError(detail=str(ex)) from None


def validate_query(schema: dict[str, Any], params: dict[str, list[str]]) -> None:
    try:
        _validator(schema).validate(params)
    except jsonschema.ValidationError as ex:
        raise ValidationError(detail=_detail(ex, 'query parameters', first=True)) from None


def _detail(ex: jsonschema.ValidationError, what: str, first: bool = False) -> str:
    if isinstance(ex.cause, InvalidName):
        return ex.cause.message
    if len(ex.path) > 0:
        path = ex.path.popleft() if first else ex.path.pop()
        return f'Invalid input for {what} {path}. Value: {ex.instance}. {ex.message}'
    return ex.message


@_format_checker.checks('date-time')
def _check_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    from minova import utils
    try:
        utils.parse_time(value)
    except (ValueError, TypeError):
        return False
    return True
