"""Nova's deprecated os-security-groups / os-security-group-rules proxy over
Neutron (Nova's nova/network/security_group_api.py, in its own words).

Nova makes these calls with the caller's token, so Neutron itself hides
other projects' groups and refuses a member's delete of `default`. mini-Nova
talks to Neutron as its service user (an admin), so it applies those two
rules here for a caller that is not an admin, with Neutron's messages.
Errors: an unknown group or rule 404, a bad id, cidr, protocol or port range
or a duplicate rule 400, Neutron's quota (409) 403, as Nova.
"""
from __future__ import annotations

import ipaddress
import urllib.parse
import uuid
from typing import TYPE_CHECKING, Any

from minova import exception
from minova.network import api as network_api
from minova.network import security_groups
from minova.network.neutron import NeutronError

if TYPE_CHECKING:
    from minova.context import RequestContext


def validate_id(ident: Any) -> str:
    try:
        uuid.UUID(str(ident))
    except ValueError:
        raise exception.Invalid('Security group id should be uuid') from None
    return str(ident)


def _call(method: str, path: str, body: dict[str, Any] | None = None,
          params: dict[str, Any] | None = None) -> Any:
    """A Neutron call with Nova's mapping of its errors."""
    try:
        return network_api.client().security_group_call(method, path, body, params)
    except NeutronError as e:
        if e.status == 404:
            raise exception.SecurityGroupNotFound(e.reason) from None
        if e.status == 409:
            raise exception.SecurityGroupLimitExceeded(e.reason) from None
        if e.status == 400:
            raise exception.Invalid(e.reason) from None
        raise


def _owner(group: dict[str, Any]) -> str:
    return str(group.get('project_id') or group.get('tenant_id') or '')


def get_group(ctx: RequestContext, ident: str) -> dict[str, Any]:
    """The Neutron group, if the caller's token would see it."""
    group: dict[str, Any] = _call('GET', f'/security-groups/{ident}')['security_group']
    if not ctx.is_admin and _owner(group) != ctx.project_id:
        raise exception.SecurityGroupNotFound(f'Security group {ident} does not exist')
    return group


def show(ctx: RequestContext, ident: str) -> dict[str, Any]:
    return security_groups.view_groups([get_group(ctx, validate_id(ident))])[0]


def list_groups(ctx: RequestContext, all_tenants: bool) -> list[dict[str, Any]]:
    """The project's groups (every project's for an admin with all_tenants)."""
    params = None if ctx.is_admin and all_tenants else {'tenant_id': ctx.project_id or ''}
    return security_groups.view_groups(_call('GET', '/security-groups', params=params)
                                       ['security_groups'])


def create(ctx: RequestContext, name: str, description: str) -> dict[str, Any]:
    made = _call('POST', '/security-groups', {'security_group': {
        'name': name, 'description': description, 'project_id': ctx.project_id}})
    return security_groups.view_groups([made['security_group']])[0]


def update(ctx: RequestContext, ident: str, name: str, description: str) -> dict[str, Any]:
    get_group(ctx, validate_id(ident))
    made = _call('PUT', f'/security-groups/{ident}', {'security_group': {
        'name': name, 'description': description}})
    return security_groups.view_groups([made['security_group']])[0]


def delete(ctx: RequestContext, ident: str) -> None:
    group = get_group(ctx, validate_id(ident))
    if not ctx.is_admin and group.get('name') == 'default':
        # Neutron's SecurityGroupCannotRemoveDefault (409), Nova's 400
        raise exception.Invalid('Insufficient rights for removing default security group.')
    try:
        _call('DELETE', f'/security-groups/{ident}')
    except exception.SecurityGroupLimitExceeded as e:   # 409: in use
        raise exception.Invalid(e.message) from None


# -- rules ---------------------------------------------------------------------

def parse_cidr(cidr: Any) -> str:
    if not cidr:
        return '0.0.0.0/0'
    text = urllib.parse.unquote(str(cidr))
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise exception.InvalidCidr(cidr=text) from None
    if '/' not in text:
        raise exception.InvalidCidr(cidr=text)
    return text


def _ports(given: str, low: Any, high: Any) -> tuple[int, int]:
    protocol = given.upper()
    try:
        low, high = int(low), int(high)
    except (TypeError, ValueError):
        raise exception.InvalidInput(
            reason='Type and Code must be integers for ICMP protocol type'
            if protocol == 'ICMP' else 'To and From ports must be integers') from None
    if protocol not in ('TCP', 'UDP', 'ICMP'):
        raise exception.InvalidIpProtocol(protocol=given)
    if protocol in ('TCP', 'UDP'):
        if low > high:
            raise exception.InvalidPortRange(from_port=low, to_port=high,
                                             msg='Former value cannot be greater than the later')
        if low < 1 or high > 65535:
            raise exception.InvalidPortRange(
                from_port=low, to_port=high,
                msg=f'Valid {protocol} ports should be between 1-65535')
    elif not (-1 <= low <= 255 and -1 <= high <= 255):
        raise exception.InvalidPortRange(from_port=low, to_port=high,
                                         msg='For ICMP, the type:code must be valid')
    return low, high


def new_rule(protocol: Any, low: Any, high: Any, group_id: str | None,
             cidr: str | None) -> dict[str, Any] | None:
    """Nova's _new_ingress_rule: the rule's values, or None when a cidr rule
    lacks its protocol or ports."""
    values: dict[str, Any] = {}
    if group_id:
        values['group_id'] = group_id
        upper = str(protocol).upper() if protocol else ''
        # a group rule without ports opens them all
        if low is None and high is None:
            if upper == 'ICMP':
                low = high = -1
            elif upper in ('TCP', 'UDP'):
                low, high = 1, 65535
    elif cidr:
        values['cidr'] = cidr
    if protocol and low is not None and high is not None:
        low, high = _ports(str(protocol), low, high)
        values.update(protocol=str(protocol), from_port=low, to_port=high)
    elif cidr:
        return None
    return values


def _nova_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A Neutron rule as Nova compares them (its ports as Nova shows them)."""
    low, high = security_groups.nova_ports(rule)
    return {'protocol': rule.get('protocol'), 'from_port': low, 'to_port': high,
            'group_id': rule.get('remote_group_id'),
            'cidr': parse_cidr(rule.get('remote_ip_prefix'))}


def create_rule(ctx: RequestContext, body: dict[str, Any]) -> dict[str, Any]:
    """POST /os-security-group-rules: the new rule in Nova's format."""
    parent = get_group(ctx, str(body['parent_group_id']))
    group_id = body.get('group_id')
    source = get_group(ctx, validate_id(group_id)) if group_id is not None else None
    values = new_rule(body.get('ip_protocol'), body.get('from_port'), body.get('to_port'),
                      group_id, None if group_id is not None else parse_cidr(body.get('cidr')))
    if values is None:
        raise exception.Invalid('Not enough parameters to build a valid rule.')
    if 'cidr' in values:
        net, prefix = values['cidr'].split('/', 1)
        if net not in ('0.0.0.0', '::') and prefix == '0':
            raise exception.Invalid(f"Bad prefix for network in cidr {values['cidr']}")
    keys = ('group_id', 'cidr', 'from_port', 'to_port', 'protocol')
    for rule in parent.get('security_group_rules') or []:
        if rule.get('direction') == 'ingress' and all(
                _nova_rule(rule).get(k) == values.get(k) for k in keys):
            raise exception.Invalid(f"This rule already exists in group {parent['id']}")
    cidr = values.get('cidr')
    neutron_rule = {
        'direction': 'ingress', 'protocol': values.get('protocol'),
        # a group rule is IPv4 only, as Nova's
        'ethertype': 'IPv6' if cidr and ipaddress.ip_network(cidr, strict=False).version == 6
        else 'IPv4',
        'remote_ip_prefix': cidr, 'security_group_id': parent['id'],
        'remote_group_id': values.get('group_id'), 'project_id': _owner(parent)}
    if values.get('from_port', -1) != -1:
        neutron_rule['port_range_min'] = values['from_port']
    if values.get('to_port', -1) != -1:
        neutron_rule['port_range_max'] = values['to_port']
    made = _call('POST', '/security-group-rules',
                 {'security_group_rules': [neutron_rule]})['security_group_rules'][0]
    known = {parent['id']: parent}
    if source is not None:
        known[source['id']] = source
    view = security_groups.rule_view(made, known)
    assert view is not None     # its groups are known
    return view


def delete_rule(ctx: RequestContext, ident: str) -> None:
    rule = _call('GET', f'/security-group-rules/{validate_id(ident)}')['security_group_rule']
    get_group(ctx, rule['security_group_id'])
    _call('DELETE', f'/security-group-rules/{ident}')
