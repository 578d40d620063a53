"""A two-cell deployment on a private RabbitMQ and private MariaDB servers
(cell2's database on a server of its own), so that tests can restart them."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.devstack.harness import Deployment
from tests.resilience.servers import PrivateMariaDB, PrivateRabbit

# One compute per cell: a resize stays on its host. A server of this name
# fails on the destination of a resize (test_resilience's resize faults).
FAIL_DEST = 'rz-fail-dest'
RESIZE_CONF = f"""
[DEFAULT]
allow_resize_to_same_host = True

[fake_driver]
fail_finish_migration_names = {FAIL_DEST}
"""


@pytest.fixture(scope='module')
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    root = tmp_path_factory.mktemp('resilience')
    rabbit = PrivateRabbit(root / 'rabbit')
    db = PrivateMariaDB(root / 'db-main')
    db_cell2 = PrivateMariaDB(root / 'db-cell2')
    dep = None
    try:
        rabbit.start()
        db.start()
        db_cell2.start()
        dep = Deployment(root / 'deploy', db='mysql', db_port=db.port,
                         cell_db_port=[f'cell2={db_cell2.port}'], rabbit_url=rabbit.url,
                         rabbit_node=rabbit.node, computes_per_cell=1, api_workers=2,
                         report_interval=1, service_down_time=5, build_timeout=30,
                         spawn_delay=0.3, extra_conf=RESIZE_CONF)
        dep.up()
        dep.ensure_flavor()
        yield {'dep': dep, 'rabbit': rabbit, 'db': db, 'db_cell2': db_cell2}
    finally:
        if dep is not None:
            dep.deploy('down', check=False)
        for server in (db_cell2, db):
            server.stop()
        rabbit.stop()
