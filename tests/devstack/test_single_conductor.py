"""minova-deploy's one-cell layout with a single conductor (no super-conductor):
one process serves the API's build requests and the compute agents' DB calls,
over one message bus, as devstack's singleconductor layout does."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.devstack.harness import Deployment, running, wait

pytestmark = pytest.mark.integration


@pytest.fixture(scope='module')
def single(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    yield from running(tmp_path_factory.mktemp('single-conductor'), db='mysql', cells=1,
                       computes_per_cell=2, api_workers=1, single_conductor=True,
                       report_interval=1, service_down_time=4)


def test_one_conductor_builds_spreads_and_deletes(single: Deployment) -> None:
    run = {p.stem for p in Path(single.root, 'run').glob('*.pid')}
    assert 'conductor' in run and not {'super-conductor', 'cell1-conductor'} & run, run
    cells = single.manage('cell_v2', 'list_cells').stdout
    assert 'cell1' in cells
    wait(lambda: single.services() == {'cell1-compute1': 'up', 'cell1-compute2': 'up'},
         30, 'both compute services up')
    r = single.boot('one-bus', count=4)
    assert r.status_code == 202, r.text
    servers = single.wait_settled()
    assert [s['status'] for s in servers] == ['ACTIVE'] * 4, servers
    hosts = [s['OS-EXT-SRV-ATTR:host'] for s in servers]
    assert sorted(hosts) == ['cell1-compute1'] * 2 + ['cell1-compute2'] * 2
    single.assert_consistent()
    single.delete_all()


def test_single_conductor_needs_one_cell(tmp_path: Path) -> None:
    dep = Deployment(tmp_path, db='mysql', cells=2, single_conductor=True)
    r = dep.deploy('up', '--prefix', dep.prefix, '--cells', '2', '--single-conductor',
                   check=False)
    assert r.returncode != 0 and '--single-conductor needs --cells 1' in r.stderr
