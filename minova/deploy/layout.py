"""What a deployment is made of, derived from a few settings.

Nova's superconductor layout: the API, the scheduler and the super-conductor
share the top-level message bus and the API DB; each cell has its own
database and RabbitMQ vhost, its own conductor and its compute agents, and
its cell mapping carries that vhost as transport_url.

With one cell, `single_conductor` gives devstack's other layout (and the one
the upstream bench harness runs): one conductor with the API DB and the cell
DB, one message bus for everything, one process fewer.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

STATE_FILE = 'deploy.json'


@dataclasses.dataclass
class Settings:
    state_dir: str = '/var/lib/minova-deploy'
    db: str = 'mysql'                      # mysql | postgresql
    db_host: str = '127.0.0.1'
    db_port: int | None = None             # default: 3306 / 5432
    db_user: str | None = None             # default: root / postgres
    db_password: str = ''
    prefix: str = 'minova'                 # names: <prefix>_api, <prefix>_cell0, <prefix>...
    rabbit_url: str = 'rabbit://guest:guest@127.0.0.1:5672'
    rabbit_node: str | None = None         # rabbitmqctl -n, for a private broker
    cells: int = 2
    computes_per_cell: int = 1
    api_workers: int = 2
    api_port: int = 8774
    placement_port: int = 8778
    report_interval: int = 10
    service_down_time: int = 60
    build_timeout: int = 0
    spawn_delay: float = 0.0
    backend: str = 'threading'
    single_conductor: bool = False         # one cell only: no super-conductor
    # Nova's default is transient queues: a broker restart loses the messages
    # in flight (builds then end by build timeout). Durable ones keep them, but
    # every publish then waits for RabbitMQ to fsync (~50 ms per boot here).
    durable_queues: bool = False
    debug: bool = False
    extra_conf: str = ''                   # appended verbatim to every config file
    extra_computes: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    # A cell whose database lives on another server of the same kind (port).
    cell_db_ports: dict[str, int] = dataclasses.field(default_factory=dict)
    # minova-novncproxy per cell (Nova runs one per cell, on the cell's
    # database) on this port and the next ones; None: no console proxies.
    novnc_port: int | None = None
    # minova-serialproxy per cell, the same way; None: no serial consoles.
    serial_port: int | None = None

    # -- persistence ----------------------------------------------------------

    @property
    def root(self) -> Path:
        return Path(self.state_dir)

    def save(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / STATE_FILE).write_text(json.dumps(dataclasses.asdict(self), indent=1))

    @classmethod
    def load(cls, state_dir: str) -> Settings:
        path = Path(state_dir) / STATE_FILE
        if not path.exists():
            raise SystemExit(f'No deployment in {state_dir} (run "minova-deploy up" first)')
        return cls(**json.loads(path.read_text()))

    # -- names ------------------------------------------------------------------

    @property
    def cell_names(self) -> list[str]:
        return [f'cell{i}' for i in range(1, self.cells + 1)]

    def databases(self) -> dict[str, str]:
        """Role -> database name, Nova's names with the prefix instead of 'nova'."""
        p = self.prefix
        names = {'api': f'{p}_api', 'cell0': f'{p}_cell0', 'placement': f'{p}_placement'}
        for cell in self.cell_names:
            names[cell] = p if cell == 'cell1' else f'{p}_{cell}'
        return names

    def vhosts(self) -> dict[str, str]:
        """'top' (API, scheduler, super-conductor) and one per cell."""
        out = {'top': self.prefix}
        out.update({cell: self.prefix if self.single_conductor else f'{self.prefix}_{cell}'
                    for cell in self.cell_names})
        return out

    def db_url(self, role: str) -> str:
        name = self.databases()[role]
        return self.server_url(name, self.cell_db_ports.get(role))

    def server_ports(self) -> dict[int | None, list[str]]:
        """Database server port -> the database names it holds."""
        out: dict[int | None, list[str]] = {}
        for role, name in self.databases().items():
            out.setdefault(self.cell_db_ports.get(role, self.db_port), []).append(name)
        return out

    def server_url(self, database: str, port: int | None = None) -> str:
        port = port or self.db_port
        if self.db == 'mysql':
            user, port, driver = self.db_user or 'root', port or 3306, 'mysql+pymysql'
        else:
            user, port, driver = (self.db_user or 'postgres', port or 5432,
                                  'postgresql+psycopg2')
        auth = quote(user, safe='') + (':' + quote(self.db_password, safe='')
                                       if self.db_password else '')
        return f'{driver}://{auth}@{self.db_host}:{port}/{database}'

    def transport_url(self, role: str) -> str:
        return f'{self.rabbit_url.rstrip("/")}/{self.vhosts()[role]}'

    @property
    def conductor_conf(self) -> str:
        """Config file (under etc/) of the conductor above the cells."""
        return 'conductor.conf' if self.single_conductor else 'super-conductor.conf'

    def novnc_ports(self) -> dict[str, int]:
        """Cell -> the port of its minova-novncproxy (none without novnc_port)."""
        if self.novnc_port is None:
            return {}
        return {cell: self.novnc_port + i for i, cell in enumerate(self.cell_names)}

    def serial_ports(self) -> dict[str, int]:
        """Cell -> the port of its minova-serialproxy (none without serial_port)."""
        if self.serial_port is None:
            return {}
        return {cell: self.serial_port + i for i, cell in enumerate(self.cell_names)}

    def compute_hosts(self, cell: str) -> list[str]:
        hosts = [f'{cell}-compute{i}' for i in range(1, self.computes_per_cell + 1)]
        return hosts + self.extra_computes.get(cell, [])

    # -- services -------------------------------------------------------------

    def services(self) -> list[dict[str, Any]]:
        """Every service process, in start order: name, console script, config files."""
        etc = self.root / 'etc'
        top = str(etc / 'minova.conf')
        out: list[dict[str, Any]] = [
            {'name': 'placement', 'script': 'minova-placement', 'conf': [top],
             'http': self.placement_port},
            {'name': 'conductor' if self.single_conductor else 'super-conductor',
             'script': 'minova-conductor',
             'conf': [top, str(etc / self.conductor_conf)]},
            {'name': 'scheduler', 'script': 'minova-scheduler',
             'conf': [top, str(etc / 'scheduler.conf')]},
        ]
        for cell in ([] if self.single_conductor else self.cell_names):
            out.append({'name': f'{cell}-conductor', 'script': 'minova-conductor',
                        'conf': [str(etc / f'{cell}.conf'), str(etc / f'{cell}-conductor.conf')],
                        'cell': cell})
        out.append({'name': 'api', 'script': 'minova-api', 'conf': [top],
                    'http': self.api_port})
        for cell, port in self.novnc_ports().items():
            out.append({'name': f'{cell}-novncproxy', 'script': 'minova-novncproxy',
                        'conf': [str(etc / f'{cell}.conf'),
                                 str(etc / f'{cell}-novncproxy.conf')],
                        'cell': cell, 'http': port})
        for cell, port in self.serial_ports().items():
            out.append({'name': f'{cell}-serialproxy', 'script': 'minova-serialproxy',
                        'conf': [str(etc / f'{cell}.conf'),
                                 str(etc / f'{cell}-serialproxy.conf')],
                        'cell': cell, 'http': port})
        for cell in self.cell_names:
            for host in self.compute_hosts(cell):
                out.append({'name': host, 'script': 'minova-compute', 'host': host,
                            'conf': [str(etc / f'{cell}.conf'), str(etc / f'{host}.conf')],
                            'cell': cell})
        return out

    def service(self, name: str) -> dict[str, Any]:
        for svc in self.services():
            if svc['name'] == name:
                return svc
        raise SystemExit(f'No service {name!r}; known: '
                         f'{", ".join(s["name"] for s in self.services())}')
