"""What a virt driver may ask of the compute manager that runs it (Nova's VirtAPI).

The manager sets `driver.virtapi` before init_host. A driver that starts a guest
whose NICs Neutron plugs waits for Neutron's word, as Nova's libvirt driver:

    events = [('network-vif-plugged', vif['id']) for vif in network_info]
    with self.virtapi.wait_for_instance_event(instance, events, deadline=300):
        ...define and plug, start paused...
    ...resume...

The events are expected from the moment the block is entered; its exit waits for
all of them (or until `deadline` seconds), so one that arrives while the block
runs is not lost.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from minova.db.instances import Instance

# An event is named 'name-tag' (as Nova keys them: 'network-vif-plugged-<port id>')
# or given as a (name, tag) pair.
EventName = str | tuple[str, str | None]
ErrorCallback = Callable[[str, 'Instance'], None]


class VirtAPI:
    """The interface; this base waits for nothing (a driver run without a manager)."""

    @contextlib.contextmanager
    def wait_for_instance_event(self, instance: Instance, event_names: Iterable[EventName],
                                deadline: float = 300,
                                error_callback: ErrorCallback | None = None
                                ) -> Iterator[None]:
        yield


def event_key(name: EventName) -> str:
    """'name-tag' of an event given either way."""
    if isinstance(name, tuple):
        event, tag = name
        return f'{event}-{tag}' if tag else event
    return name
