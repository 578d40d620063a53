"""Config drive: an ISO 9660 image labelled config-2 holding the instance's
metadata in the OpenStack layout (openstack/latest/...), which cloud-init
and other guest agents read without a metadata server."""
from __future__ import annotations

import base64
import binascii
import json
import os
import shutil
import subprocess
import tempfile
from typing import TYPE_CHECKING, Any

from minova import exception
from minova.conf import CONF

if TYPE_CHECKING:
    from minova.db.instances import VIF, Instance


def required(instance: Instance) -> bool:
    return bool(instance.get('config_drive')) or CONF.force_config_drive


def meta_data(instance: Instance) -> dict[str, Any]:
    keys = []
    if instance.get('key_name') and instance.get('key_data'):
        keys.append({'name': instance['key_name'], 'type': 'ssh',
                     'data': instance['key_data']})
    return {
        'uuid': instance['uuid'],
        'name': instance.get('display_name') or '',
        'hostname': instance.get('hostname') or '',
        'launch_index': instance.get('launch_index') or 0,
        'availability_zone': instance.get('availability_zone')
        or CONF.default_availability_zone,
        'project_id': instance.get('project_id'),
        'public_keys': {k['name']: k['data'] for k in keys},
        'keys': keys,
        'meta': dict(instance.get('metadata') or {}),
        'devices': [],
    }


def network_data(network_info: list[VIF]) -> dict[str, Any]:
    links = [{'id': f'tap{(vif.get("id") or "")[:11]}', 'type': 'phy',
              'ethernet_mac_address': vif.get('address'), 'mtu': 1500,
              'vif_id': vif.get('id')} for vif in network_info]
    # User-mode NICs get their address from QEMU's DHCP server.
    networks = [{'id': f'network{i}', 'type': 'ipv4_dhcp', 'link': link['id'],
                 'network_id': (vif.get('network') or {}).get('id')}
                for i, (vif, link) in enumerate(zip(network_info, links, strict=True))]
    return {'links': links, 'networks': networks, 'services': []}


def _mkisofs() -> list[str]:
    for tool in ('genisoimage', 'mkisofs'):
        if shutil.which(tool):
            return [tool]
    if shutil.which('xorriso'):
        return ['xorriso', '-as', 'mkisofs']
    raise exception.MinovaException('No ISO 9660 tool (genisoimage or xorriso) is installed '
                                    'to build the config drive.')


def build(instance: Instance, network_info: list[VIF], dest: str) -> None:
    """Write the config drive ISO of instance to dest."""
    with tempfile.TemporaryDirectory() as tmp:
        for version in ('latest', '2012-08-10'):
            d = os.path.join(tmp, 'openstack', version)
            os.makedirs(d)
            with open(os.path.join(d, 'meta_data.json'), 'w') as f:
                json.dump(meta_data(instance), f)
            with open(os.path.join(d, 'network_data.json'), 'w') as f:
                json.dump(network_data(network_info), f)
            with open(os.path.join(d, 'vendor_data.json'), 'w') as f:
                json.dump({}, f)
            user_data = instance.get('user_data')
            if user_data:
                try:
                    data = base64.b64decode(user_data)
                except (binascii.Error, ValueError):
                    data = user_data.encode()
                with open(os.path.join(d, 'user_data'), 'wb') as f:
                    f.write(data)
        cmd = _mkisofs() + ['-o', dest, '-ldots', '-allow-lowercase', '-allow-multidot',
                            '-l', '-V', 'config-2', '-r', '-J', '-quiet', tmp]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if proc.returncode:
            raise exception.MinovaException(f'Building the config drive failed: '
                                            f'{proc.stderr.strip()}')
