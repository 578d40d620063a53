"""Config drive: an ISO 9660 image labelled config-2 holding the instance's
metadata in the OpenStack layout (openstack/latest/...), which cloud-init
and other guest agents read without a metadata server."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from typing import TYPE_CHECKING, Any

from minova import exception
from minova.conf import CONF
from minova.metadata import base

if TYPE_CHECKING:
    from minova.db.instances import VIF, Instance


def required(instance: Instance) -> bool:
    return bool(instance.get('config_drive')) or CONF.force_config_drive


def meta_data(instance: Instance) -> dict[str, Any]:
    return base.meta_data(instance)


def network_data(network_info: list[VIF]) -> dict[str, Any]:
    return base.network_data(network_info)


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
        # The same documents as the metadata service's (minova/metadata/base.py).
        for version in base.OPENSTACK_VERSIONS + ['latest']:
            d = os.path.join(tmp, 'openstack', version)
            os.makedirs(d)
            dated = base.os_version(version) or version
            for name, content in base.openstack_files(instance, dated, network_info).items():
                with open(os.path.join(d, name), 'wb') as f:
                    f.write(content)
        for version in ('2009-04-04', 'latest'):
            d = os.path.join(tmp, 'ec2', version)
            os.makedirs(d)
            with open(os.path.join(d, 'meta-data.json'), 'wb') as f:
                f.write(base.ec2_meta_data_json(instance))
            ud = base.user_data(instance)
            if ud is not None:
                with open(os.path.join(d, 'user-data'), 'wb') as f:
                    f.write(ud)
        cmd = _mkisofs() + ['-o', dest, '-ldots', '-allow-lowercase', '-allow-multidot',
                            '-l', '-V', 'config-2', '-r', '-J', '-quiet', tmp]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if proc.returncode:
            raise exception.MinovaException(f'Building the config drive failed: '
                                            f'{proc.stderr.strip()}')
