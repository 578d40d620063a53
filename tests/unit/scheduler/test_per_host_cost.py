"""What the scheduler does per candidate at 1,000 hosts, made cheap
(issue 22): host states built without their constructor, weighers reading
attributes in bulk, the HTTP client's look at the environment kept. Each
must give what the plain code gives."""
from __future__ import annotations

import dataclasses
import random
import uuid
from typing import Any

import requests

from minova.clients import base as client_base
from minova.scheduler import host_manager, weights
from minova.scheduler.host_manager import HostState
from minova.scheduler.manager import SchedulerManager
from tests.unit.backbone.fakes import spec


def test_host_states_equal_what_the_constructor_builds(cloud: Any) -> None:
    a = cloud.add_host('h1', vcpus=8, ram=8192, disk=100)
    b = cloud.add_host('h2', vcpus=4, ram=2048, disk=40)
    areqs, summaries = cloud.client.get_allocation_candidates(
        cloud.ctx, {'VCPU': 1, 'MEMORY_MB': 512, 'DISK_GB': 1}, 1000)
    summaries[b['uuid']]['resources'].pop('DISK_GB')      # a class the summary lacks
    states = {s.host: s for s in host_manager.get_host_states(areqs, summaries)}
    assert set(states) == {'h1', 'h2'}
    for name, node in (('h1', a), ('h2', b)):
        got = states[name]
        res = summaries[node['uuid']]['resources']

        def free(rc: str) -> tuple[float, float]:
            r = res.get(rc)    # noqa: B023 (used at once)
            return (float(r['capacity'] - r['used']), float(r['capacity'])) if r else (0, 0)
        want = HostState(
            uuid=node['uuid'], host=name, nodename=got.nodename, cell_uuid=got.cell_uuid,
            service=got.service, availability_zone='nova',
            free_vcpus=free('VCPU')[0], free_ram_mb=free('MEMORY_MB')[0],
            free_disk_gb=free('DISK_GB')[0], total_vcpus=free('VCPU')[1],
            total_ram_mb=free('MEMORY_MB')[1],
            allocation_request={'allocations': {node['uuid']: {'resources': {
                'VCPU': 1, 'MEMORY_MB': 512, 'DISK_GB': 1}}}},
            num_instances=0, hypervisor_type=got.hypervisor_type, cpu_arch=got.cpu_arch)
        # Every field, the ones set after __init__ (summary) included.
        assert {f.name: getattr(got, f.name) for f in dataclasses.fields(HostState)} == \
            {f.name: getattr(want, f.name) for f in dataclasses.fields(HostState)}
    assert states['h2'].free_disk_gb == 0.0 and not states['h2'].fits({'DISK_GB': 1})
    states['h1'].take({'VCPU': 2}, 1)
    assert states['h1'].free_vcpus == 6.0 and states['h1'].num_instances == 1


def _weigh_plainly(hosts: list[HostState]) -> list[HostState]:
    """The weighers as written: a call per host, normalise, sum, sort."""
    totals = [0.0] * len(hosts)
    for name in weights.enabled():
        fn, multiplier = weights.WEIGHERS[name]
        m = multiplier()
        if not m or name in ('ServerGroupSoftAffinityWeigher',
                             'ServerGroupSoftAntiAffinityWeigher'):
            continue
        values = [fn(h, {}) for h in hosts]
        lo, hi = min(values), max(values)
        for i, v in enumerate(values):
            totals[i] += (0.0 if hi == lo else (v - lo) / (hi - lo)) * m
    order = sorted(range(len(hosts)), key=lambda i: totals[i], reverse=True)
    return [hosts[i] for i in order]


def test_weighing_in_bulk_ranks_as_one_call_per_host(flags: Any) -> None:
    rnd = random.Random(22)
    hosts = [HostState(uuid=f'u{i}', host=f'h{i}', nodename=f'h{i}', cell_uuid='c',
                       service=None, availability_zone='nova',
                       free_ram_mb=rnd.choice([512, 1024, 4096]),
                       free_vcpus=rnd.choice([1, 2, 8]), free_disk_gb=rnd.choice([10, 20]),
                       num_instances=rnd.randint(0, 3))
             for i in range(300)]
    flags('num_instances_weight_multiplier', -1.0, group='filter_scheduler')
    flags('disk_weight_multiplier', 0.5, group='filter_scheduler')
    assert [h.host for h in weights.weigh(hosts)] == [h.host for h in _weigh_plainly(hosts)]
    # Equal hosts keep placement's order.
    same = [dataclasses.replace(hosts[0], host=f's{i}') for i in range(5)]
    assert [h.host for h in weights.weigh(same)] == [f's{i}' for i in range(5)]


def test_a_replaced_weigher_is_still_called(monkeypatch: Any, flags: Any) -> None:
    hosts = [HostState(uuid=f'u{i}', host=f'h{i}', nodename=f'h{i}', cell_uuid='c',
                       service=None, availability_zone='nova', free_ram_mb=1024 * i)
             for i in range(3)]
    flags('weight_classes', ['RAMWeigher'], group='filter_scheduler')
    monkeypatch.setitem(weights.WEIGHERS, 'RAMWeigher',
                        (lambda h, s: -h.free_ram_mb, lambda: 1.0))
    assert [h.host for h in weights.weigh(hosts)] == ['h0', 'h1', 'h2']


def test_environment_read_once_per_endpoint(monkeypatch: Any) -> None:
    """Proxies and no_proxy from the environment apply as requests applies
    them; the environment is walked once per endpoint, not per request."""
    monkeypatch.setenv('http_proxy', 'http://proxy.example:3128')
    monkeypatch.setenv('no_proxy', 'placement.internal')
    session = client_base.environment_once(requests.Session())
    plain = requests.Session()
    walks: list[str] = []
    real = requests.sessions.get_environ_proxies

    def counting(url: str, no_proxy: Any = None) -> Any:
        walks.append(url)
        return real(url, no_proxy=no_proxy)
    monkeypatch.setattr(requests.sessions, 'get_environ_proxies', counting)
    for url in ('http://api.example/a', 'http://placement.internal/b'):
        for _ in range(3):
            got = session.merge_environment_settings(url, {}, None, None, None)
            got['proxies']['mutated'] = 'x'     # a caller's change is not kept
            want = plain.merge_environment_settings(url, {}, None, None, None)
            del got['proxies']['mutated']
            assert got == want
    assert session.merge_environment_settings(
        'http://api.example/a', {}, None, None, None)['proxies']['http'] == \
        'http://proxy.example:3128'
    assert 'http' not in session.merge_environment_settings(
        'http://placement.internal/b', {}, None, None, None)['proxies']
    # Per URL: once for the session under test, every time for the plain one.
    assert walks.count('http://api.example/a') == 1 + 3
    assert walks.count('http://placement.internal/b') == 1 + 3


def test_scheduler_placement_client_reads_the_environment_once(cloud: Any,
                                                                monkeypatch: Any) -> None:
    cloud.add_host('h1')
    walks: list[str] = []
    real = requests.sessions.get_environ_proxies
    monkeypatch.setattr(requests.sessions, 'get_environ_proxies',
                        lambda url, no_proxy=None: walks.append(url) or real(url, no_proxy))
    sched = SchedulerManager()
    for _ in range(3):
        sched.select_destinations(cloud.ctx, spec(), [str(uuid.uuid4())])
    assert 0 < len(walks) <= 3     # one per distinct URL at most, not one per request


def test_states_of_one_answer_are_made_once_and_follow_the_cache(cloud: Any) -> None:
    """Every request using one answer of placement gets the same states;
    a node the host cache logs as changed (here an instance placed on it,
    then its service disabled) is made again, alone."""
    from minova.db import services
    for name in ('h1', 'h2', 'h3'):
        cloud.add_host(name)
    cache = cloud.sched.host_cache
    answer = host_manager.AnswerStates(*cloud.client.get_allocation_candidates(
        cloud.ctx, {'VCPU': 1, 'MEMORY_MB': 512, 'DISK_GB': 1}, 1000))
    first = answer.states(cache)
    again = answer.states(cache)
    assert first is not again and len(first) == 3
    assert all(a is b for a, b in zip(first, again, strict=True))
    by_host = {s.host: s for s in first}
    cache.consume(by_host['h2'].uuid)
    svc = services.get_all(cloud.dbs.cell, host='h3')[0]
    services.update(cloud.dbs.cell, svc['id'], {'disabled': True})
    later = {s.host: s for s in answer.states(cache)}
    assert later['h1'] is by_host['h1']
    assert later['h2'] is not by_host['h2'] and later['h2'].num_instances == 1
    assert by_host['h2'].num_instances == 0          # what others hold is unchanged
    assert later['h3'].service['disabled'] and not by_host['h3'].service['disabled']
    fields = [f.name for f in dataclasses.fields(HostState) if f.name != 'service']
    fresh = {s.host: s for s in host_manager.AnswerStates(
        *cloud.client.get_allocation_candidates(
            cloud.ctx, {'VCPU': 1, 'MEMORY_MB': 512, 'DISK_GB': 1}, 1000)).states(cache)}
    for name in ('h1', 'h2', 'h3'):
        assert {f: getattr(later[name], f) for f in fields} == \
            {f: getattr(fresh[name], f) for f in fields}
