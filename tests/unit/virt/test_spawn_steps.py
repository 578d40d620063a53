"""A spawn's timed steps: kept per server while its spawn records, taken once."""
import pytest

from minova.virt import spawn_steps
from minova.virt.spawn_steps import StepClock


def test_steps_of_a_spawn_are_taken_once_in_order():
    clock = StepClock()
    with clock.step('a', 'before'):      # no spawn recording: not kept
        pass
    clock.start('a')
    with clock.step('a', 'fetch'):
        pass
    with pytest.raises(RuntimeError), clock.step('a', 'define'):
        raise RuntimeError('a failed step is timed too')
    steps = clock.pop('a')
    assert [name for name, _, _ in steps] == ['fetch', 'define']
    assert all(start <= finish for _, start, finish in steps)
    assert steps[0][2] <= steps[1][1]
    assert clock.pop('a') == []


def test_untaken_spawns_are_forgotten_oldest_first(monkeypatch):
    monkeypatch.setattr(spawn_steps, 'KEPT', 2)
    clock = StepClock()
    for uuid in ('a', 'b', 'c'):
        clock.start(uuid)
        with clock.step(uuid, 'x'):
            pass
    assert clock.pop('a') == []
    assert [n for n, _, _ in clock.pop('c')] == ['x']
