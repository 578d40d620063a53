"""Helpers shared by the handlers: bodies, schemas, query strings, versions."""
from __future__ import annotations

import functools
import uuid as uuidlib
from collections.abc import Callable
from typing import Any

import falcon
import jsonschema

from minova.placement import errors, microversion, policies
from minova.placement.microversion import Version
from minova.wsgi import request_body
from minova.wsgi import validators as schema_validators

Handler = Callable[..., None]
# (first microversion, value) rows, newest first: a microversion is a row.
VersionTable = tuple[tuple[str, Any], ...]
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


def for_version(req: falcon.Request, table: VersionTable) -> Any:
    """The row of `table` ((version, value), newest first) for the request."""
    for min_version, value in table:
        if want(req, min_version):
            return value
    raise errors.not_found('The resource could not be found.')


def validate_query(req: falcon.Request, schema: dict[str, Any]) -> None:
    """The query string (last value of each key) against a JSON schema."""
    params = {k: v[-1] if isinstance(v, list) else v for k, v in req.params.items()}
    validator = schema_validators.validator_for(schema, _FORMATS,
                                                jsonschema.Draft202012Validator)
    error = jsonschema.exceptions.best_match(validator.iter_errors(params))
    if error is not None:
        raise errors.bad_request(f'Invalid query string parameters: {error.message}')


def send_json(resp: falcon.Response, data: Any, status: int = 200) -> None:
    resp.status = falcon.code_to_http_status(status)
    resp.media = data


def send_json_text(resp: falcon.Response, text: str, status: int = 200) -> None:
    """A body already encoded as JSON (ASCII, as send_json writes it)."""
    resp.status = falcon.code_to_http_status(status)
    resp.content_type = falcon.MEDIA_JSON
    resp.text = text


def no_content(resp: falcon.Response) -> None:
    resp.status = falcon.HTTP_204
    resp.content_type = None


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


Traits = tuple[list[set[str]], set[str]]


def parse_traits(values: list[str], allow_forbidden: bool, allow_any: bool = False,
                 conflict_code: str = errors.QUERYPARAM_BAD_VALUE) -> Traits:
    """`required` values -> (required, forbidden).

    `required` is a list of any-of sets that must all match:
    `HW_CPU_X86_AVX,!CUSTOM_X` gives ([{HW_CPU_X86_AVX}], {CUSTOM_X}) and,
    with `allow_any` (1.39), `in:A,B` gives ([{A, B}], set()). Before 1.39
    only the last of repeated values counts, as upstream has it.
    """
    required: list[set[str]] = []
    forbidden: set[str] = set()
    for text in values if allow_any else values[-1:]:
        if text.startswith('in:'):
            if not allow_any:
                raise errors.bad_request(
                    "Invalid query string parameters: The format "
                    "'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' only supported since "
                    f"microversion 1.39. Got: {text}")
            names = {n.strip() for n in text[3:].split(',')}
            if not all(names):
                raise errors.bad_request(
                    "Invalid query string parameters: Expected 'required' parameter "
                    "value of the form: in:HW_CPU_X86_VMX,CUSTOM_MAGIC. Got an empty "
                    f"trait in: {text}")
            if any(n.startswith('!') for n in names):
                raise errors.bad_request(
                    "Invalid query string parameters: The format "
                    "'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' does not support forbidden "
                    f"traits. Got: {text}")
            required.append(names)
            continue
        for item in text.split(','):
            name = item.strip()
            # As upstream: any number of leading '!' forbid the trait.
            if name.startswith('!') and allow_forbidden:
                forbidden.add(name.lstrip('!'))
            elif name:
                required.append({name})
            if not name.lstrip('!') or (name.startswith('!') and not allow_forbidden):
                raise errors.bad_request(
                    "Invalid query string parameters: Expected 'required' parameter "
                    f"value of the form: HW_CPU_X86_VMX,CUSTOM_MAGIC. Got: {text}",
                    errors.QUERYPARAM_BAD_VALUE)
    conflict = sorted(', '.join(sorted(s)) for s in required if s <= forbidden)
    if conflict:
        raise errors.bad_request(
            'Conflicting required and forbidden traits found in the following traits '
            f'keys: {", ".join(conflict)}', conflict_code)
    return required, forbidden


Aggregates = tuple[list[set[str]], set[str]]


def parse_member_of(values: list[str], allow_multiple: bool,
                    allow_forbidden: bool = False) -> Aggregates:
    """`member_of` values -> (required, forbidden).

    Each required entry is an any-of set of aggregates and all of them must
    match; from 1.32 `!agg` and `!in:a,b` name aggregates a provider must
    not be in.
    """
    if len(values) > 1 and not allow_multiple:
        raise errors.bad_request(
            "Query parameter 'member_of' may only be given once",
            errors.ILLEGAL_DUPLICATE_QUERYPARAM)
    required: list[set[str]] = []
    forbidden: set[str] = set()
    for value in values:
        negate = value.startswith('!')
        text = value[1:] if negate else value
        any_of = text.startswith('in:')
        text = text[3:] if any_of else text
        if ',' in text and not any_of:
            raise errors.bad_request(
                "Multiple values for 'member_of' must be prefixed with the 'in:' or "
                f"'!in:' keyword using the valid microversion. Got: {value}",
                errors.QUERYPARAM_BAD_VALUE)
        aggs = {a.strip() for a in text.split(',')}
        if not all(is_uuid(a) for a in aggs):
            raise errors.bad_request(
                'Invalid query string parameters: Expected \'member_of\' parameter to '
                f'contain valid UUID(s). Got: {value}', errors.QUERYPARAM_BAD_VALUE)
        aggs = {normalize_uuid(a) for a in aggs}
        if not negate:
            required.append(aggs)
        elif allow_forbidden:
            forbidden |= aggs
        else:
            raise errors.bad_request('Forbidden member_of parameters are not supported '
                                     'in the specified microversion')
    return required, forbidden


def negotiate(header: str | None) -> Version:
    try:
        return microversion.negotiate(header)
    except microversion.InvalidVersion:
        raise errors.bad_request(
            f'invalid version string: {microversion.extract(header)}') from None
    except microversion.UnacceptableVersion:
        raise errors.PlacementError(
            406, f'Unacceptable version header: {microversion.extract(header)}') from None
