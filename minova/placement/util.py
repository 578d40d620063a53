"""Helpers shared by the handlers: bodies, schemas, query strings, versions."""
from __future__ import annotations

import functools
import uuid as uuidlib
from collections.abc import Callable
from typing import Any

import falcon
import jsonschema

from minova import request_body, schema_validators
from minova.placement import errors, microversion, policies
from minova.placement.microversion import Version

Handler = Callable[..., None]
_FORMATS = jsonschema.FormatChecker()


def version(req: falcon.Request) -> Version:
    return req.context.version


def want(req: falcon.Request, min_version: str, max_version: str | None = None) -> bool:
    return version(req).matches(min_version, max_version)


def handler(rule: str | None, min_version: str = '1.0',
            max_version: str | None = None) -> Callable[[Handler], Handler]:
    """Decorate a handler: version range (404 outside it) and policy rule."""
    def decorator(fn: Handler) -> Handler:
        @functools.wraps(fn)
        def wrapper(req: falcon.Request, resp: falcon.Response, **kw: Any) -> None:
            if not want(req, min_version, max_version):
                raise errors.not_found('The resource could not be found.')
            if rule is not None:
                policies.authorize(req.context.ctx, rule)
            fn(req, resp, **kw)
        wrapper.min_version = min_version  # type: ignore[attr-defined]
        return wrapper
    return decorator


def extract_json(req: falcon.Request, schema: dict[str, Any]) -> Any:
    """The JSON body validated against `schema` (400 otherwise)."""
    ctype = (req.content_type or '').split(';')[0].strip()
    if ctype != 'application/json':
        raise errors.PlacementError(
            415, f'The media type {ctype or None} is not supported, use application/json')
    raw = req.bounded_stream.read()
    try:
        data = request_body.loads(raw or b'')
    except request_body.BadText as e:
        where = '/'.join(request_body.printable(str(p)) for p in e.path)
        raise errors.bad_request(f'JSON does not validate: {where}: {e.reason}') from None
    except request_body.Malformed as e:
        raise errors.bad_request(f'Malformed JSON: {e.reason}') from None
    validator = schema_validators.validator_for(schema, _FORMATS,
                                                jsonschema.Draft202012Validator)
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        raise errors.bad_request(f'JSON does not validate: {error.message}')
    return data


def send_json(resp: falcon.Response, data: Any, status: int = 200) -> None:
    resp.status = falcon.code_to_http_status(status)
    resp.media = data


def no_content(resp: falcon.Response) -> None:
    resp.status = falcon.HTTP_204
    resp.content_type = None  # type: ignore[assignment]


def is_uuid(value: str) -> bool:
    try:
        uuidlib.UUID(value)
    except (ValueError, TypeError, AttributeError):
        return False
    return True


def normalize_uuid(value: str) -> str:
    return str(uuidlib.UUID(value))


def query(req: falcon.Request, name: str) -> str | None:
    """A single-valued query parameter (400 when given twice)."""
    values = req.params.get(name)
    if isinstance(values, list):
        raise errors.bad_request(
            f'Query parameter {name!r} may only be given once',
            errors.ILLEGAL_DUPLICATE_QUERYPARAM)
    return values


def query_all(req: falcon.Request, name: str) -> list[str]:
    value = req.params.get(name)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def check_query(req: falcon.Request, allowed: set[str]) -> None:
    unknown = sorted(set(req.params) - allowed)
    if unknown:
        raise errors.bad_request(
            f'Invalid query string parameters: {", ".join(unknown)}',
            errors.QUERYPARAM_BAD_VALUE)


def parse_resources(text: str, param: str = 'resources') -> dict[str, int]:
    """`VCPU:1,MEMORY_MB:64` -> {'VCPU': 1, 'MEMORY_MB': 64}."""
    result: dict[str, int] = {}
    for item in text.split(','):
        rc, sep, amount = item.strip().partition(':')
        if not sep or not rc:
            raise errors.bad_request(
                f'Badly formed {param} parameter. Expected {param} query string '
                f'parameter in form: ?{param}=VCPU:2,MEMORY_MB:1024. Got: {text}.',
                errors.QUERYPARAM_BAD_VALUE)
        try:
            value = int(amount)
        except ValueError:
            value = -1
        if value < 1:
            raise errors.bad_request(
                f'Requested resource {rc} expected positive integer amount. Got: {amount}.',
                errors.QUERYPARAM_BAD_VALUE)
        if rc in result:
            raise errors.bad_request(
                f'Badly formed {param} parameter: resource class {rc} given twice.',
                errors.QUERYPARAM_BAD_VALUE)
        result[rc] = value
    return result


def parse_traits(text: str, allow_forbidden: bool) -> tuple[set[str], set[str]]:
    """`HW_CPU_X86_AVX,!CUSTOM_X` -> (required, forbidden)."""
    required: set[str] = set()
    forbidden: set[str] = set()
    for item in text.split(','):
        name = item.strip()
        if allow_forbidden and name.startswith('!'):
            forbidden.add(name[1:])
        elif name:
            required.add(name)
        if not name or name == '!':
            raise errors.bad_request(
                f"Invalid query string parameters: Expected 'required' parameter value "
                f"of the form: HW_CPU_X86_VMX,CUSTOM_MAGIC. Got: {text}",
                errors.QUERYPARAM_BAD_VALUE)
    conflict = required & forbidden
    if conflict:
        raise errors.bad_request(
            'Conflicting required and forbidden traits found in the following traits '
            f'keys: {", ".join(sorted(conflict))}', errors.QUERYPARAM_BAD_VALUE)
    return required, forbidden


def parse_member_of(values: list[str], allow_multiple: bool) -> list[set[str]]:
    """Each `member_of` value -> a set of aggregates (any-of); all sets must match."""
    if len(values) > 1 and not allow_multiple:
        raise errors.bad_request(
            "Query parameter 'member_of' may only be given once",
            errors.ILLEGAL_DUPLICATE_QUERYPARAM)
    result: list[set[str]] = []
    for value in values:
        text = value[3:] if value.startswith('in:') else value
        aggs = {a.strip() for a in text.split(',')}
        if not all(is_uuid(a) for a in aggs):
            raise errors.bad_request(
                'Invalid query string parameters: Expected \'member_of\' parameter to '
                f'contain valid UUID(s). Got: {value}', errors.QUERYPARAM_BAD_VALUE)
        if ',' in text and not value.startswith('in:'):
            raise errors.bad_request(
                'Invalid query string parameters: multiple aggregate UUIDs must be '
                f"prefixed with 'in:'. Got: {value}", errors.QUERYPARAM_BAD_VALUE)
        result.append({normalize_uuid(a) for a in aggs})
    return result


def negotiate(header: str | None) -> Version:
    try:
        return microversion.negotiate(header)
    except microversion.InvalidVersion:
        raise errors.bad_request(
            f'invalid version string: {microversion.extract(header)}') from None
    except microversion.UnacceptableVersion:
        raise errors.PlacementError(
            406, f'Unacceptable version header: {microversion.extract(header)}') from None
