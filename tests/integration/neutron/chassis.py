"""An OVN chassis without an ovn-controller, for a second (fake driver)
compute host.

ML2/OVN binds a port only to a host whose OVN chassis it knows and believes
alive: a Chassis row (with a real chassis' other_config: netdev datapath,
its iface types) and a Chassis_Private row whose nb_cfg keeps up with
NB_Global's, as a running ovn-controller's would. Nothing is plugged there.
Used by test_moves.py and tools/tempest_cloud.py.
"""
from __future__ import annotations

import subprocess
import threading
import time
from typing import Any


def _ctl(tool: str, db: str, *args: str) -> str:
    r = subprocess.run([tool, f'--db={db}', *args], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, (args, r.stderr)
    return r.stdout.strip()


class Chassis:
    """An OVN chassis named host that Neutron sees alive for as long as it runs.

    info is tools/minova-neutron's `up` JSON; like_host the real chassis
    whose other_config it copies."""

    def __init__(self, info: dict[str, Any], like_host: str, host: str) -> None:
        self.sb = info['ovn_sb_connection']
        self.nb = info['ovn_nb_connection']
        self.host = host
        _ctl('ovn-sbctl', self.sb, 'chassis-add', host, 'geneve', '127.0.0.2')
        other = _ctl('ovn-sbctl', self.sb, 'get', 'chassis', like_host, 'other_config')
        _ctl('ovn-sbctl', self.sb, 'set', 'chassis', host, f'hostname={host}',
             f'other_config={other}')
        row = _ctl('ovn-sbctl', self.sb, '--bare', '--columns=_uuid', 'find', 'chassis',
                   f'name={host}')
        self.private = _ctl('ovn-sbctl', self.sb, 'create', 'Chassis_Private', f'name={host}',
                            f'chassis={row}', f'nb_cfg={self._nb_cfg()}',
                            f'nb_cfg_timestamp={int(time.time() * 1000)}')
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._heartbeat, daemon=True)
        self._thread.start()

    def _nb_cfg(self) -> str:
        return _ctl('ovn-nbctl', self.nb, 'get', 'NB_Global', '.', 'nb_cfg')

    def _heartbeat(self) -> None:
        # Neutron's agent health check bumps NB_Global's nb_cfg; an
        # ovn-controller answers with its Chassis_Private's.
        while not self._stop.wait(2):
            try:
                _ctl('ovn-sbctl', self.sb, 'set', 'Chassis_Private', self.private,
                     f'nb_cfg={self._nb_cfg()}',
                     f'nb_cfg_timestamp={int(time.time() * 1000)}')
            except (AssertionError, subprocess.SubprocessError):
                pass

    def remove(self) -> None:
        self._stop.set()
        self._thread.join(10)
        subprocess.run(['ovn-sbctl', f'--db={self.sb}', 'destroy', 'Chassis_Private',
                        self.private], capture_output=True)
        subprocess.run(['ovn-sbctl', f'--db={self.sb}', 'chassis-del', self.host],
                       capture_output=True)
