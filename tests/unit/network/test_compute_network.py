"""The compute host's networking (NetworkMixin) against a fake Neutron, with a
stub conductor: attach/detach edge cases and the periodic cache heal."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from minova import exception
from minova.compute.network import NetworkMixin
from minova.context import RequestContext
from minova.network import api
from tests.unit.network.fake_neutron import FakeNeutron

CTX = RequestContext(user_id='u1', project_id='p1')


class Conductor:
    def __init__(self, instances: dict[str, dict[str, Any]]) -> None:
        self.instances = instances
        self.faults: list[tuple[str, int, str]] = []

    def instance_get_all_by_uuids(self, ctx: Any, uuids: list[str]) -> list[Any]:
        return [dict(self.instances[u]) for u in uuids if u in self.instances]

    def instance_get_all_by_host(self, ctx: Any, host: str) -> list[Any]:
        return [dict(i) for i in self.instances.values() if i['host'] == host]

    def instance_fault_create(self, ctx: Any, uuid: str, code: int, message: str,
                              details: Any, host: str) -> None:
        self.faults.append((uuid, code, message))


class Driver:
    def __init__(self) -> None:
        self.fail: BaseException | None = None
        self.plugged: list[str] = []

    def attach_interface(self, ctx: Any, instance: Any, image_meta: Any, vif: Any) -> None:
        if self.fail is not None:
            raise self.fail
        self.plugged.append(vif['id'])

    def detach_interface(self, ctx: Any, instance: Any, vif: Any) -> None:
        if self.fail is not None:
            raise self.fail
        self.plugged.remove(vif['id'])


class Manager(NetworkMixin):
    def __init__(self, instances: dict[str, dict[str, Any]]) -> None:
        self.host = 'h1'
        self.driver = Driver()      # type: ignore[assignment]
        self.conductor = Conductor(instances)    # type: ignore[assignment]
        self.events: list[str] = []

    def _update(self, ctx: Any, uuid: str, values: dict[str, Any], *a: Any) -> Any:
        self.conductor.instances[uuid].update(values)   # type: ignore[attr-defined]
        return self.conductor.instances[uuid]           # type: ignore[attr-defined]

    @contextlib.contextmanager
    def _event(self, ctx: Any, uuid: str, event: str) -> Iterator[None]:
        try:
            yield
        except Exception:
            self.events.append(f'{event}: Error')
            raise
        self.events.append(f'{event}: Success')

    @contextlib.contextmanager
    def _instance_lock(self, uuid: str) -> Iterator[None]:
        yield


@pytest.fixture
def setup(neutron: FakeNeutron) -> tuple[Manager, dict[str, Any], dict[str, Any]]:
    net = neutron.add_network('n')
    inst = {'uuid': 'i-1', 'project_id': 'p1', 'host': 'h1', 'vm_state': 'active',
            'task_state': None, 'availability_zone': None, 'network_info': []}
    inst['network_info'] = api.allocate_for_instance(CTX, inst, [{'network_id': net['id']}],
                                                     'h1')
    m = Manager({'i-1': inst})
    return m, inst, net


def test_attach_and_detach(neutron: FakeNeutron, setup: Any) -> None:
    m, inst, net = setup
    vif = m.attach_interface(CTX, inst, net['id'], None, None, 'eth1')
    assert vif['tag'] == 'eth1' and m.driver.plugged == [vif['id']]
    cached = m.conductor.instances['i-1']['network_info']
    assert [v['id'] for v in cached][-1] == vif['id'] and len(cached) == 2
    m.detach_interface(CTX, inst, vif['id'])
    assert vif['id'] not in neutron.ports and m.driver.plugged == []
    assert len(m.conductor.instances['i-1']['network_info']) == 1


def test_attach_failures_release_the_port(neutron: FakeNeutron, setup: Any) -> None:
    m, inst, net = setup
    m.driver.fail = exception.MinovaException('plug failed')
    with pytest.raises(exception.InterfaceAttachFailed):
        m.attach_interface(CTX, inst, net['id'], None, None)
    m.driver.fail = NotImplementedError()
    with pytest.raises(exception.NotSupported):
        m.attach_interface(CTX, inst, net['id'], None, None)
    mine = neutron.add_port(net['id'])
    with pytest.raises(exception.NotSupported):
        m.attach_interface(CTX, inst, None, mine['id'], None)
    assert len(neutron.ports_of('i-1')) == 1              # only the boot's
    assert neutron.ports[mine['id']]['device_id'] == ''   # the user's kept, unbound
    assert m.events.count('compute_attach_interface: Error') == 3


def test_attach_without_a_network_to_use(neutron: FakeNeutron, setup: Any) -> None:
    m, inst, net = setup
    neutron.networks.clear()
    with pytest.raises(exception.InterfaceAttachFailedNoNetwork):
        m.attach_interface(CTX, inst, None, None, None)


def test_detach_of_a_port_not_attached_is_a_fault(neutron: FakeNeutron,
                                                  setup: Any) -> None:
    m, inst, _ = setup
    m.detach_interface(CTX, inst, 'not-there')
    assert m.conductor.faults == [('i-1', 404, 'Port not-there is not attached')]
    assert m.events == ['compute_detach_interface: Error']


def test_heal_refreshes_one_server_per_run(neutron: FakeNeutron, setup: Any) -> None:
    m, inst, net = setup
    other = dict(inst, uuid='i-2', network_info=[])
    m.conductor.instances['i-2'] = other
    api.allocate_for_instance(CTX, other, [{'network_id': net['id']}], 'h1')
    port = neutron.ports_of('i-1')[0]
    neutron.floatingips['f'] = {'id': 'f', 'port_id': port['id'],
                                'fixed_ip_address': port['fixed_ips'][0]['ip_address'],
                                'floating_ip_address': '203.0.113.5'}
    m._heal_instance_info_cache()
    healed = m.conductor.instances['i-1']['network_info']
    assert healed[0]['network']['subnets'][0]['ips'][0]['floating_ips'][0]['address'] == \
        '203.0.113.5'
    assert m.conductor.instances['i-2']['network_info'] == []   # its turn is next
    m._heal_instance_info_cache()
    assert len(m.conductor.instances['i-2']['network_info']) == 1
