"""An in-memory Neutron behind a keystoneauth1-adapter look-alike, so that the real
client (minova/network/neutron.py) and its error mapping run in unit and
functional tests: networks, subnets (addresses handed out in order), ports with
binding (vif_type ovs, or binding_failed for hosts in fail_binding_hosts),
security groups (each project's 'default'; create, update, delete, rules),
floating IPs, the auto-allocated
topology and a port quota; errors in Neutron's body shape."""
from __future__ import annotations

import copy
import ipaddress
import json as jsonlib
import re
import threading
import uuid as uuidlib
from typing import Any

from tests import loopback_wsgi


class Resp:
    def __init__(self, status: int, body: Any = None) -> None:
        self.status_code = status
        self.content = b'' if body is None else jsonlib.dumps(body).encode()
        self.text = self.content.decode()

    def json(self) -> Any:
        return jsonlib.loads(self.content)


def _err(status: int, type_: str, message: str) -> Resp:
    return Resp(status, {'NeutronError': {'type': type_, 'message': message, 'detail': ''}})


def _values(v: Any) -> list[str]:
    return [str(x) for x in v] if isinstance(v, list | tuple) else [str(v)]


class FakeNeutron:
    def __init__(self) -> None:
        self.networks: dict[str, dict[str, Any]] = {}
        self.subnets: dict[str, dict[str, Any]] = {}
        self.ports: dict[str, dict[str, Any]] = {}
        self.security_groups: dict[str, dict[str, Any]] = {}
        self.floatingips: dict[str, dict[str, Any]] = {}
        self.fail_binding_hosts: set[str] = set()
        self.port_quota: int | None = None
        self.floatingip_quota: int | None = None   # per project
        self.auto_allocation = True          # the dry run and the topology succeed
        self.auto_network: str | None = None
        self.down = False                     # every request: a connection failure
        self.port_create_delay = 0.0          # seconds each port create takes
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.RLock()

    # -- set-up helpers ---------------------------------------------------------

    def add_network(self, name: str, project_id: str = 'p1', cidr: str | None = '10.0.0.0/24',
                    shared: bool = False, external: bool = False, mtu: int = 1442
                    ) -> dict[str, Any]:
        net_id = str(uuidlib.uuid4())
        net = {'id': net_id, 'name': name, 'project_id': project_id, 'tenant_id': project_id,
               'shared': shared, 'router:external': external, 'mtu': mtu, 'subnets': [],
               'status': 'ACTIVE', 'admin_state_up': True,
               'provider:network_type': 'geneve'}
        self.networks[net_id] = net
        if cidr:
            sub_id = str(uuidlib.uuid4())
            gateway = str(next(ipaddress.ip_network(cidr).hosts()))
            self.subnets[sub_id] = {'id': sub_id, 'network_id': net_id, 'cidr': cidr,
                                    'ip_version': ipaddress.ip_network(cidr).version,
                                    'gateway_ip': gateway, 'dns_nameservers': ['192.0.2.53'],
                                    'host_routes': [], 'enable_dhcp': True,
                                    'name': f'{name}-sub', 'project_id': project_id}
            net['subnets'].append(sub_id)
        return net

    def add_security_group(self, name: str, project_id: str = 'p1') -> dict[str, Any]:
        sg = {'id': str(uuidlib.uuid4()), 'name': name, 'project_id': project_id,
              'tenant_id': project_id, 'description': '', 'security_group_rules': []}
        self.security_groups[sg['id']] = sg
        return sg

    def default_group(self, project_id: str) -> str:
        for sg in self.security_groups.values():
            if sg['name'] == 'default' and sg['project_id'] == project_id:
                return str(sg['id'])
        return str(self.add_security_group('default', project_id)['id'])

    def add_port(self, network_id: str, project_id: str = 'p1', **extra: Any
                 ) -> dict[str, Any]:
        status, body = self._create_port(dict({'network_id': network_id,
                                               'project_id': project_id}, **extra))
        assert status == 201, body
        return dict(body['port'])

    def ports_of(self, device_id: str) -> list[dict[str, Any]]:
        return [p for p in self.ports.values() if p['device_id'] == device_id]

    # -- the adapter's request ----------------------------------------------------

    def request(self, url: str, method: str, json: Any = None,
                params: dict[str, Any] | None = None, **_: Any) -> Resp:
        if self.down:
            from keystoneauth1 import exceptions as ks_exc
            raise ks_exc.ConnectFailure('Unable to establish connection to fake neutron')
        with self._lock:
            self.calls.append((method, url))
            return self._route(method, url.removeprefix('/v2.0'), json, params or {})

    def _route(self, method: str, path: str, body: Any, params: dict[str, Any]) -> Resp:
        m = re.fullmatch(r'/security-group(s|-rules)(?:/([^/]+))?', path)
        if m and (m.group(1) == '-rules' or method in ('POST', 'PUT', 'DELETE')):
            return self._security_groups(method, m.group(1) == '-rules', m.group(2),
                                         body or {}, params)
        m = re.fullmatch(r'/(networks|subnets|ports|security-groups|floatingips)(?:/([^/]+))?',
                         path)
        if m:
            kind, ident = m.group(1), m.group(2)
            store = {'networks': self.networks, 'subnets': self.subnets, 'ports': self.ports,
                     'security-groups': self.security_groups,
                     'floatingips': self.floatingips}[kind]
            key = kind.replace('-', '_')
            one = key[:-1]
            if ident is None and method == 'GET':
                return Resp(200, {key: [copy.deepcopy(r) for r in store.values()
                                        if self._match(r, params)]})
            if ident is None and method == 'POST' and kind == 'ports':
                status, out = self._create_port(body['port'])
                return Resp(status, out) if status < 400 else out
            if ident is not None and ident not in store:
                names = {'networks': 'NetworkNotFound', 'ports': 'PortNotFound'}
                return _err(404, names.get(kind, 'NotFound'), f'{one} {ident} not found')
            if method == 'GET':
                return Resp(200, {one: copy.deepcopy(store[ident])})
            if method == 'PUT' and kind == 'ports':
                return self._update_port(ident, body['port'])
            if method == 'DELETE' and kind == 'ports':
                del self.ports[ident]
                return Resp(204)
            if kind == 'floatingips':
                return self._floatingip(method, ident, (body or {}).get('floatingip') or {})
        m = re.fullmatch(r'/auto-allocated-topology/([^/]+)', path)
        if m and method == 'GET':
            if not self.auto_allocation:
                return _err(409, 'AutoAllocationFailure',
                            'Deployment error: No default router:external network.')
            if params.get('fields') == 'dry-run':
                return Resp(200, {'auto_allocated_topology': {'dry-run': 'pass'}})
            if self.auto_network is None:
                self.auto_network = self.add_network('auto_allocated_network',
                                                     m.group(1), '10.99.0.0/24')['id']
            return Resp(200, {'auto_allocated_topology': {'id': self.auto_network,
                                                          'project_id': m.group(1)}})
        return _err(404, 'HTTPNotFound', f'The resource could not be found: {path}')

    @staticmethod
    def _match(row: dict[str, Any], params: dict[str, Any]) -> bool:
        for name, wanted in params.items():
            if name == 'fields':
                continue
            if name == 'fixed_ips':
                addrs = {f['ip_address'] for f in row.get('fixed_ips') or []}
                if not any(v.removeprefix('ip_address=') in addrs for v in _values(wanted)):
                    return False
                continue
            have = row.get(name)
            if isinstance(have, bool):
                have = str(have)
                wanted = [str(w) for w in _values(wanted)]
            if str(have) not in _values(wanted):
                return False
        return True

    def _free_address(self, subnet: dict[str, Any]) -> str | None:
        used = {f['ip_address'] for p in self.ports.values() for f in p['fixed_ips']}
        for host in list(ipaddress.ip_network(subnet['cidr']).hosts())[1:]:
            if str(host) not in used:
                return str(host)
        return None

    def _bind(self, port: dict[str, Any]) -> None:
        host = port.get('binding:host_id')
        if not host:
            port['binding:vif_type'] = 'unbound'
            port['binding:vif_details'] = {}
        elif host in self.fail_binding_hosts:
            port['binding:vif_type'] = 'binding_failed'
            port['binding:vif_details'] = {}
        else:
            port['binding:vif_type'] = 'ovs'
            port['binding:vif_details'] = {'port_filter': True, 'bridge_name': 'br-int',
                                           'connectivity': 'l2'}

    def _create_port(self, req: dict[str, Any]) -> tuple[int, Any]:
        if self.port_create_delay:
            import time
            time.sleep(self.port_create_delay)
        net = self.networks.get(req.get('network_id') or '')
        if net is None:
            return 404, _err(404, 'NetworkNotFound', f"Network {req.get('network_id')} "
                             'could not be found.')
        project = req.get('project_id') or req.get('tenant_id') or net['project_id']
        if self.port_quota is not None and sum(
                1 for p in self.ports.values() if p['project_id'] == project) >= \
                self.port_quota:
            return 409, _err(409, 'OverQuota', 'Quota exceeded for resources: [\'port\'].')
        fixed: list[dict[str, str]] = []
        subnets = [self.subnets[s] for s in net['subnets']]
        used = {f['ip_address'] for p in self.ports.values() for f in p['fixed_ips']}
        for asked in req.get('fixed_ips') or []:
            addr = asked.get('ip_address')
            sub = next((s for s in subnets if addr and ipaddress.ip_address(addr) in
                        ipaddress.ip_network(s['cidr'])), None)
            if sub is None:
                return 400, _err(400, 'InvalidIpForNetwork',
                                 f'IP address {addr} is not a valid IP for any of the '
                                 'subnets on the specified network.')
            if addr in used:
                return 409, _err(409, 'IpAddressAlreadyAllocated',
                                 f'IP address {addr} already allocated in subnet '
                                 f"{sub['id']}")
            fixed.append({'subnet_id': sub['id'], 'ip_address': str(addr)})
        if not req.get('fixed_ips'):
            for sub in subnets:
                addr = self._free_address(sub)
                if addr is None:
                    return 409, _err(409, 'IpAddressGenerationFailure',
                                     f"No more IP addresses available on network {net['id']}.")
                fixed.append({'subnet_id': sub['id'], 'ip_address': addr})
        port_id = str(uuidlib.uuid4())
        mac = 'fa:16:3e:' + ':'.join(f'{b:02x}' for b in uuidlib.UUID(port_id).bytes[:3])
        port = {'id': port_id, 'name': req.get('name', ''), 'network_id': net['id'],
                'project_id': project, 'tenant_id': project, 'mac_address': mac,
                'fixed_ips': fixed, 'device_id': req.get('device_id', ''),
                'device_owner': req.get('device_owner', ''), 'status': 'DOWN',
                'admin_state_up': True, 'port_security_enabled': True,
                'security_groups': list(req.get('security_groups')
                                        or [self.default_group(project)]),
                'binding:host_id': req.get('binding:host_id') or '',
                'binding:vnic_type': 'normal', 'binding:profile': {}}
        self._bind(port)
        self.ports[port_id] = port
        return 201, {'port': copy.deepcopy(port)}

    def _floatingip(self, method: str, ident: str | None, req: dict[str, Any]) -> Resp:
        """POST (an address from the external network's subnet), PUT (port_id,
        fixed_ip_address: associate, or None: disassociate), DELETE."""
        if method == 'POST':
            net = self.networks.get(req.get('floating_network_id') or '')
            if net is None:
                return _err(404, 'ExternalNetworkNotFound', 'External network not found')
            project = req.get('project_id', 'p1')
            if self.floatingip_quota is not None and self.floatingip_quota <= len(
                    [f for f in self.floatingips.values() if f['project_id'] == project]):
                return _err(409, 'OverQuota', 'Quota exceeded for resources: '
                            "['floatingip'].")
            used = {f['floating_ip_address'] for f in self.floatingips.values()}
            free = [str(h) for sid in net['subnets']
                    for h in list(ipaddress.ip_network(self.subnets[sid]['cidr']).hosts())[1:]
                    if str(h) not in used]
            if not free:
                return _err(409, 'IpAddressGenerationFailure',
                            f'No more IP addresses available on network {net["id"]}.')
            fip = {'id': str(uuidlib.uuid4()), 'floating_ip_address': free[0],
                   'floating_network_id': net['id'], 'port_id': None,
                   'fixed_ip_address': None, 'project_id': req.get('project_id', 'p1'),
                   'status': 'DOWN', 'router_id': None}
            self.floatingips[fip['id']] = fip
            return Resp(201, {'floatingip': copy.deepcopy(fip)})
        assert ident is not None
        if method == 'DELETE':
            del self.floatingips[ident]
            return Resp(204)
        fip = self.floatingips[ident]
        port_id = req.get('port_id')
        fixed = req.get('fixed_ip_address')
        if port_id and not fixed:
            fixed = self.ports[port_id]['fixed_ips'][0]['ip_address']
        fip.update(port_id=port_id, fixed_ip_address=fixed if port_id else None,
                   status='ACTIVE' if port_id else 'DOWN')
        return Resp(200, {'floatingip': copy.deepcopy(fip)})

    def _security_groups(self, method: str, rules: bool, ident: str | None,
                         body: dict[str, Any], params: dict[str, Any]) -> Resp:
        """Security groups' create, update, delete (409 while a port uses it,
        and for a second 'default'), and their rules (409 for a duplicate)."""
        all_rules = {r['id']: r for g in self.security_groups.values()
                     for r in g['security_group_rules']}
        if not rules:
            if method == 'POST':
                req = body['security_group']
                if req['name'] == 'default' and any(
                        g['name'] == 'default' and g['project_id'] == req['project_id']
                        for g in self.security_groups.values()):
                    return _err(409, 'SecurityGroupDefaultAlreadyExists',
                                'Default security group already exists.')
                sg = self.add_security_group(req['name'], req['project_id'])
                sg['description'] = req.get('description') or ''
                return Resp(201, {'security_group': copy.deepcopy(sg)})
            assert ident is not None
            if ident not in self.security_groups:
                return _err(404, 'SecurityGroupNotFound', f'Security group {ident} does not '
                            'exist')
            if method == 'PUT':
                self.security_groups[ident].update(body['security_group'])
                return Resp(200, {'security_group': copy.deepcopy(
                    self.security_groups[ident])})
            if any(ident in p.get('security_groups', []) for p in self.ports.values()):
                return _err(409, 'SecurityGroupInUse',
                            f'Security Group {ident} in use.')
            del self.security_groups[ident]
            return Resp(204)
        if ident is None and method == 'GET':
            return Resp(200, {'security_group_rules': [
                copy.deepcopy(r) for r in all_rules.values() if self._match(r, params)]})
        if ident is None and method == 'POST':
            made = []
            for req in body['security_group_rules']:
                group = self.security_groups.get(req['security_group_id'])
                if group is None:
                    return _err(404, 'SecurityGroupNotFound',
                                f"Security group {req['security_group_id']} does not exist")
                keys = ('direction', 'protocol', 'ethertype', 'remote_ip_prefix',
                        'remote_group_id', 'port_range_min', 'port_range_max')
                for old in group['security_group_rules']:
                    if all(old.get(k) == req.get(k) for k in keys):
                        return _err(409, 'SecurityGroupRuleExists',
                                    f"Security group rule already exists. Rule id is "
                                    f"{old['id']}.")
                rule = {k: req.get(k) for k in keys}
                rule.update(id=str(uuidlib.uuid4()), security_group_id=group['id'],
                            project_id=group['project_id'], tenant_id=group['project_id'])
                group['security_group_rules'].append(rule)
                made.append(copy.deepcopy(rule))
            return Resp(201, {'security_group_rules': made})
        if ident not in all_rules:
            return _err(404, 'SecurityGroupRuleNotFound',
                        f'Security group rule {ident} does not exist')
        if method == 'GET':
            return Resp(200, {'security_group_rule': copy.deepcopy(all_rules[ident])})
        group = self.security_groups[all_rules[ident]['security_group_id']]
        group['security_group_rules'] = [r for r in group['security_group_rules']
                                         if r['id'] != ident]
        return Resp(204)

    def _update_port(self, port_id: str, changes: dict[str, Any]) -> Resp:
        port = self.ports[port_id]
        for sg in changes.get('security_groups') or []:
            if sg not in self.security_groups:
                return _err(404, 'SecurityGroupNotFound', f'Security group {sg} does not '
                            'exist')
        port.update({k: v for k, v in changes.items()})
        if port.get('binding:host_id') is None:
            port['binding:host_id'] = ''
        if 'binding:host_id' in changes:
            self._bind(port)
        return Resp(200, {'port': copy.deepcopy(port)})


def client(neutron: FakeNeutron) -> Any:
    """The real Neutron client, talking to `neutron`."""
    from minova.network import neutron as neutron_client
    return neutron_client.Client(adapter=neutron)  # type: ignore[arg-type]


def serve(neutron: FakeNeutron) -> tuple[str, Any]:
    """`neutron` over real HTTP on 127.0.0.1 (a thread): (its URL, a stop function),
    for clients in other code paths (openstacksdk through the catalog)."""
    import urllib.parse

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get('CONTENT_LENGTH') or 0)
        raw = environ['wsgi.input'].read(length) if length else b''
        params = urllib.parse.parse_qs(environ.get('QUERY_STRING') or '')
        flat = {k: v[0] if len(v) == 1 else v for k, v in params.items()}
        if neutron.down:     # a Neutron that answers but fails
            start_response('503 Service Unavailable', [('Content-Type', 'application/json')])
            return [jsonlib.dumps({'NeutronError': {'type': 'ServiceUnavailable',
                                                    'message': 'down', 'detail': ''}}
                                  ).encode()]
        resp = neutron.request(environ['PATH_INFO'], environ['REQUEST_METHOD'],
                               json=jsonlib.loads(raw) if raw else None, params=flat)
        start_response(f'{resp.status_code} X', [('Content-Type', 'application/json')])
        return [resp.content]

    port, stop = loopback_wsgi.serve(app)
    return f'http://127.0.0.1:{port}', stop
