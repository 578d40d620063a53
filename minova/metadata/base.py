"""The metadata documents of one instance, in the OpenStack and EC2 layouts,
built from its instance record. The config drive (minova/virt/configdrive.py)
writes them into its ISO; the metadata service (minova/metadata/wsgi.py)
serves them over HTTP. Both get the same content from here.
"""
from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import os
from typing import TYPE_CHECKING, Any

from minova.conf import CONF

if TYPE_CHECKING:
    from minova.db.instances import VIF, Instance

# The dated OpenStack versions Nova serves, oldest first, and what each adds.
FOLSOM = '2012-08-10'
GRIZZLY = '2013-04-04'      # password
HAVANA = '2013-10-17'       # vendor_data.json
LIBERTY = '2015-10-15'      # network_data.json, keys, random_seed
NEWTON_ONE = '2016-06-30'   # devices
NEWTON_TWO = '2016-10-06'   # vendor_data2.json
OCATA = '2017-02-22'
ROCKY = '2018-08-27'
OPENSTACK_VERSIONS = [FOLSOM, GRIZZLY, HAVANA, LIBERTY, NEWTON_ONE, NEWTON_TWO, OCATA, ROCKY]

# The EC2 versions Nova answers; they all get the same document here.
EC2_VERSIONS = ['1.0', '2007-01-19', '2007-03-01', '2007-08-29', '2007-10-10',
                '2007-12-15', '2008-02-01', '2008-09-01', '2009-04-04']

MD_JSON = 'meta_data.json'
UD_NAME = 'user_data'
PASS_NAME = 'password'
VD_JSON = 'vendor_data.json'
VD2_JSON = 'vendor_data2.json'
NW_JSON = 'network_data.json'


def os_version(version: str) -> str | None:
    """The dated version a request names ('latest': the newest), or None."""
    if version == 'latest':
        return OPENSTACK_VERSIONS[-1]
    return version if version in OPENSTACK_VERSIONS else None


def _at_least(version: str, since: str) -> bool:
    return OPENSTACK_VERSIONS.index(version) >= OPENSTACK_VERSIONS.index(since)


def user_data(instance: Instance) -> bytes | None:
    """The user data as the guest gets it (decoded from the API's base64)."""
    data = instance.get('user_data')
    if not data:
        return None
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return data.encode()


def keys(instance: Instance) -> list[dict[str, str]]:
    if instance.get('key_name') and instance.get('key_data'):
        return [{'name': instance['key_name'] or '', 'type': 'ssh',
                 'data': instance['key_data'] or ''}]
    return []


def meta_data(instance: Instance, version: str = ROCKY) -> dict[str, Any]:
    """meta_data.json of `version` (a dated version)."""
    ks = keys(instance)
    md: dict[str, Any] = {
        'uuid': instance['uuid'],
        'name': instance.get('display_name') or '',
        'hostname': instance.get('hostname') or '',
        'launch_index': instance.get('launch_index') or 0,
        'availability_zone': instance.get('availability_zone')
        or CONF.default_availability_zone,
        'meta': dict(instance.get('metadata') or {}),
        'public_keys': {k['name']: k['data'] for k in ks},
    }
    if _at_least(version, LIBERTY):
        md['keys'] = ks
        md['random_seed'] = base64.b64encode(os.urandom(512)).decode()
    if _at_least(version, NEWTON_ONE):
        md['devices'] = []
    if _at_least(version, NEWTON_TWO):
        md['project_id'] = instance.get('project_id')
    return md


def network_data(network_info: list[VIF]) -> dict[str, Any]:
    """network_data.json as Nova writes it: a link per VIF (its tap, type, MAC and
    the network's MTU), per fixed IP a static network (address, netmask, the
    default route via the subnet's gateway and its host routes, its DNS servers),
    and the DNS servers as services. A VIF without subnets (QEMU user-mode
    networking) gets its address by DHCP."""
    links: list[dict[str, Any]] = []
    networks: list[dict[str, Any]] = []
    services: list[dict[str, Any]] = []
    for vif in network_info:
        network = vif.get('network') or {}
        link_id = vif.get('devname') or f'tap{(vif.get("id") or "")[:11]}'
        links.append({'id': link_id, 'type': 'phy' if vif.get('type') in (None, 'user')
                      else vif['type'], 'ethernet_mac_address': vif.get('address'),
                      'mtu': network.get('mtu') or 1500, 'vif_id': vif.get('id')})
        subnets = network.get('subnets') or []
        if not any(sub.get('ips') for sub in subnets):
            networks.append({'id': f'network{len(networks)}', 'type': 'ipv4_dhcp',
                             'link': link_id, 'network_id': network.get('id')})
            continue
        for sub in subnets:
            for ip in sub.get('ips') or []:
                networks.append(_static_network(len(networks), link_id, network, sub, ip))
            for dns in sub.get('dns') or []:
                entry = {'type': 'dns', 'address': dns['address']}
                if entry not in services:
                    services.append(entry)
    return {'links': links, 'networks': networks, 'services': services}


def _static_network(index: int, link_id: str, network: dict[str, Any],
                    subnet: dict[str, Any], ip: dict[str, Any]) -> dict[str, Any]:
    cidr = ipaddress.ip_network(subnet['cidr'], strict=False)
    version = cidr.version
    any_net = '0.0.0.0' if version == 4 else '::'
    routes = []
    if subnet.get('gateway'):
        routes.append({'network': any_net, 'netmask': any_net,
                       'gateway': subnet['gateway']['address']})
    for route in subnet.get('routes') or []:
        dest = ipaddress.ip_network(route['cidr'], strict=False)
        routes.append({'network': str(dest.network_address), 'netmask': str(dest.netmask),
                       'gateway': route['gateway']['address']})
    return {'id': f'network{index}', 'type': f'ipv{version}', 'link': link_id,
            'ip_address': ip['address'], 'netmask': str(cidr.netmask), 'routes': routes,
            'network_id': network.get('id'),
            'services': [{'type': 'dns', 'address': d['address']}
                         for d in subnet.get('dns') or []]}


def openstack_files(instance: Instance, version: str,
                    network_info: list[VIF] | None = None) -> dict[str, bytes]:
    """{file name: content} of /openstack/<version>/ except the password
    (which the metadata service answers itself): what the config drive writes."""
    nw = instance.get('network_info') if network_info is None else network_info
    files = {MD_JSON: json.dumps(meta_data(instance, version)).encode()}
    ud = user_data(instance)
    if ud is not None:
        files[UD_NAME] = ud
    if _at_least(version, HAVANA):
        files[VD_JSON] = b'{}'
    if _at_least(version, LIBERTY):
        files[NW_JSON] = json.dumps(network_data(list(nw or []))).encode()
    if _at_least(version, NEWTON_TWO):
        files[VD2_JSON] = b'{}'
    return files


def openstack_listing(instance: Instance, version: str) -> list[str]:
    """The names /openstack/<version>/ lists, as Nova lists them."""
    names = [MD_JSON]
    if user_data(instance) is not None:
        names.append(UD_NAME)
    if _at_least(version, GRIZZLY):
        names.append(PASS_NAME)
    if _at_least(version, HAVANA):
        names.append(VD_JSON)
    if _at_least(version, LIBERTY):
        names.append(NW_JSON)
    if _at_least(version, NEWTON_TWO):
        names.append(VD2_JSON)
    return names


def fixed_ips(instance: Instance) -> tuple[list[str], list[str]]:
    """(fixed IPv4 addresses, floating IPv4 addresses) from the network info cache."""
    fixed, floating = [], []
    for vif in instance.get('network_info') or []:
        for subnet in (vif.get('network') or {}).get('subnets') or []:
            for ip in subnet.get('ips') or []:
                if ip.get('address') and ':' not in ip['address']:
                    fixed.append(ip['address'])
                floating += [f['address'] for f in ip.get('floating_ips') or []
                             if f.get('address') and ':' not in f['address']]
    return fixed, floating


def ec2_id(prefix: str, value: str | int | None) -> str:
    """An EC2-style id: the number as 8 hex digits (a UUID: its first 8)."""
    if isinstance(value, int):
        return f'{prefix}-{value:08x}'
    return f'{prefix}-{(value or "0").replace("-", "")[:8]:0>8}'


def ec2_meta_data(instance: Instance) -> dict[str, Any]:
    """The EC2 meta-data tree: leaves are str or list[str], subtrees dicts.
    A dict's '_name' is how its parent lists it (public-keys: '0=name')."""
    fixed, floating = fixed_ips(instance)
    hostname = instance.get('hostname') or ''
    flavor = instance.get('flavor') or {}
    md: dict[str, Any] = {
        'ami-id': ec2_id('ami', instance.get('image_ref') or None),
        'ami-launch-index': str(instance.get('launch_index') or 0),
        'ami-manifest-path': 'FIXME',
        'block-device-mapping': {'ami': 'vda', 'root': instance.get('root_device_name')
                                 or '/dev/vda'},
        'hostname': hostname,
        'instance-action': 'none',
        'instance-id': ec2_id('i', instance.get('id') or 0),
        'instance-type': flavor.get('name') or '',
        'local-hostname': hostname,
        'local-ipv4': fixed[0] if fixed else '',
        'placement': {'availability-zone': instance.get('availability_zone')
                      or CONF.default_availability_zone},
        'public-hostname': hostname,
        'public-ipv4': floating[0] if floating else '',
        'reservation-id': instance.get('reservation_id') or '',
        'security-groups': ['default'],
    }
    ks = keys(instance)
    if ks:
        md['public-keys'] = {str(i): {'_name': f'{i}={k["name"]}', 'openssh-key': k['data']}
                             for i, k in enumerate(ks)}
    return md


def ec2_meta_data_json(instance: Instance) -> bytes:
    """The EC2 tree as the config drive's ec2/<version>/meta-data.json."""
    def clean(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: clean(v) for k, v in node.items() if k != '_name'}
        return node
    return json.dumps(clean(ec2_meta_data(instance))).encode()
