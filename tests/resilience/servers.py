"""Private RabbitMQ and MariaDB servers for the resilience tests, which restart
and stop them: the machine's shared servers are used by other tests at once."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

from tests.devstack.harness import free_port, wait


class PrivateRabbit:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.node = f'minova-res-{uuid.uuid4().hex[:6]}@localhost'
        self.port = free_port()
        self.env = dict(os.environ, RABBITMQ_NODENAME=self.node,
                        RABBITMQ_NODE_PORT=str(self.port),
                        RABBITMQ_DIST_PORT=str(free_port()),
                        RABBITMQ_MNESIA_BASE=str(root / 'mnesia'),
                        RABBITMQ_LOG_BASE=str(root / 'log'),
                        RABBITMQ_ENABLED_PLUGINS_FILE=str(root / 'enabled_plugins'),
                        RABBITMQ_CONFIG_FILE=str(root / 'rabbitmq.conf'),
                        RABBITMQ_PID_FILE=str(root / 'rabbit.pid'))
        for d in (root, root / 'mnesia', root / 'log'):
            d.mkdir(parents=True, exist_ok=True)
        (root / 'enabled_plugins').write_text('[].\n')
        # Its own listener: the machine's config names the shared broker's port.
        (root / 'rabbitmq.conf').write_text(f'listeners.tcp.local = 127.0.0.1:{self.port}\n')
        # rabbitmq-server drops root for the rabbitmq user, who must own its files.
        subprocess.run(['chown', '-R', 'rabbitmq:rabbitmq', str(root)], check=False)
        for parent in root.parents:  # and reach them
            if str(parent).startswith('/tmp/'):
                parent.chmod(parent.stat().st_mode | 0o711)

    @property
    def url(self) -> str:
        return f'rabbit://guest:guest@127.0.0.1:{self.port}'

    def ctl(self, *args: str, check: bool = True, timeout: float = 120) -> None:
        subprocess.run(['rabbitmqctl', '-q', '-n', self.node, *args], env=self.env,
                       check=check, capture_output=True, timeout=timeout)

    def start(self) -> None:
        subprocess.run(['rabbitmq-server', '-detached'], env=self.env, check=True,
                       capture_output=True)
        wait(lambda: subprocess.run(
            ['rabbitmqctl', '-q', '-n', self.node, 'await_startup', '--timeout', '5'],
            env=self.env, capture_output=True).returncode == 0, 90,
            f'RabbitMQ node {self.node}', 1.0)

    def restart_app(self) -> None:
        """The broker goes away and comes back: every connection is dropped."""
        self.ctl('stop_app')
        time.sleep(2)

        def started() -> bool:
            ok = subprocess.run(['rabbitmqctl', '-q', '-n', self.node, 'start_app'],
                                env=self.env, capture_output=True, timeout=120)
            return ok.returncode == 0
        wait(started, 90, f'RabbitMQ node {self.node} to start its app again', 2.0)

    def stop(self) -> None:
        self.ctl('stop', check=False)


class PrivateMariaDB:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.datadir = root / 'data'
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        subprocess.run(['mariadb-install-db', '--no-defaults', f'--datadir={self.datadir}',
                        '--user=root',
                        '--skip-test-db', '--auth-root-authentication-method=normal'],
                       check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        log = open(self.root / 'mariadbd.log', 'ab')  # noqa: SIM115
        self.proc = subprocess.Popen(
            [shutil.which('mariadbd') or '/usr/sbin/mariadbd', '--no-defaults',
             f'--datadir={self.datadir}', f'--port={self.port}', '--bind-address=127.0.0.1',
             f'--socket={self.root}/mysqld.sock', f'--pid-file={self.root}/mysqld.pid',
             '--user=root', '--skip-grant-tables', '--max-connections=1000',
             '--innodb-buffer-pool-size=64M', '--innodb-flush-log-at-trx-commit=2',
             '--skip-log-bin'],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait(self._answers, 60, f'MariaDB on :{self.port}')

    def _answers(self) -> bool:
        return subprocess.run(['mysqladmin', '-h127.0.0.1', f'-P{self.port}', '-uroot',
                               'ping'], capture_output=True).returncode == 0

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def restart(self, down_for: float = 2.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()
