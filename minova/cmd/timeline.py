"""Boot timelines: where the time of a server's creation went, stage by stage.

Every stage boundary is a timestamp the system already records: the build
request's creation (the API accepted the request), the events of the
server's 'create' instance action (conductor, scheduling with the placement
claim, compute's build and spawn) and launched_at (ACTIVE). `minova-manage
server timeline` renders one server, or the spread over a batch.
"""
from __future__ import annotations

import datetime
import statistics
from collections.abc import Iterable
from typing import Any

from minova import utils
from minova.cells import lookup, mappings
from minova.db import actions, instances
from minova.db.instances import Instance

# (stage, from (event, 'start'|'finish') or a marker, to ...)
STAGES: list[tuple[str, tuple[str, str], tuple[str, str]]] = [
    ('api to conductor', ('@accepted', ''), ('conductor_schedule_and_build_instances', 'start')),
    ('scheduling and claim', ('schedule_instances', 'start'), ('schedule_instances', 'finish')),
    ('hand-over to compute', ('schedule_instances', 'finish'),
     ('compute_build_and_run_instance', 'start')),
    ('compute prepares', ('compute_build_and_run_instance', 'start'), ('compute_spawn', 'start')),
    ('hypervisor spawn', ('compute_spawn', 'start'), ('compute_spawn', 'finish')),
    ('to ACTIVE', ('compute_spawn', 'finish'), ('@active', '')),
]


def _point(instance: Instance, events: dict[str, dict[str, Any]],
           ref: tuple[str, str]) -> datetime.datetime | None:
    name, edge = ref
    if name == '@accepted':
        return utils.parse_time(instance.get('created_at'))
    if name == '@active':
        return utils.parse_time(instance.get('launched_at'))
    event = events.get(name)
    if event is None:
        return None
    return utils.parse_time(event.get('start_time' if edge == 'start' else 'finish_time'))


def stages(instance: Instance,
           events: Iterable[dict[str, Any]]) -> list[tuple[str, float | None]]:
    """[(stage, seconds or None when a boundary is missing)] plus the total."""
    by_name = {e['event']: e for e in events}
    out: list[tuple[str, float | None]] = []
    for name, start, end in STAGES:
        a, b = _point(instance, by_name, start), _point(instance, by_name, end)
        out.append((name, (b - a).total_seconds() if a and b else None))
    a = _point(instance, by_name, ('@accepted', ''))
    b = _point(instance, by_name, ('@active', ''))
    out.append(('total (POST to ACTIVE)', (b - a).total_seconds() if a and b else None))
    return out


def _create_events(url: str, uuid: str) -> list[dict[str, Any]]:
    acts = [a for a in actions.action_list(url, uuid) if a['action'] == 'create']
    return actions.events_get(url, acts[-1]['id']) if acts else []


def for_server(uuid: str) -> tuple[Instance, list[dict[str, Any]]]:
    mapping = mappings.instance_mapping_get(uuid)
    if mapping['cell_id'] is None:
        raise LookupError(f'Server {uuid} has not reached a cell yet')
    url = lookup.get_by_id(mapping['cell_id'])['database_connection']
    instance = instances.get(url, uuid, read_deleted=True)
    return instance, _create_events(url, uuid)


def render_one(uuid: str) -> str:
    instance, events = for_server(uuid)
    lines = [f'Server {uuid} ({instance.get("display_name")}), '
             f'{instance.get("vm_state")} on {instance.get("host") or "-"}']
    width = max(len(n) for n, _ in stages(instance, events))
    for name, secs in stages(instance, events):
        shown = '-' if secs is None else f'{secs * 1000:9.1f} ms'
        lines.append(f'  {name.ljust(width)}  {shown}')
    lines.append('  events:')
    for e in sorted(events, key=lambda e: str(e.get('start_time'))):
        lines.append(f'    {e["event"]:40} {_clock(e.get("start_time"))} -> '
                     f'{_clock(e.get("finish_time"))}  {e.get("result") or ""}')
    return '\n'.join(lines)


def _clock(value: Any) -> str:
    stamp = utils.parse_time(value)
    return stamp.strftime('%H:%M:%S.%f')[:-3] if stamp else '-'


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def render_batch(limit: int = 1000, project_id: str | None = None) -> str:
    """p50/p95/max of every stage over the newest ACTIVE servers of all cells."""
    samples: dict[str, list[float]] = {}
    count = 0
    filters: dict[str, Any] = {'vm_state': ['active'], 'deleted': False}
    if project_id:
        filters['project_id'] = project_id
    for cell in lookup.all_cells(include_cell0=False):
        url = cell['database_connection']
        for inst in instances.get_all(url, filters, limit=limit):
            count += 1
            for name, secs in stages(inst, _create_events(url, inst['uuid'])):
                if secs is not None:
                    samples.setdefault(name, []).append(secs)
    if not count:
        return 'No ACTIVE servers.'
    width = max(len(n) for n, _, _ in STAGES + [('total (POST to ACTIVE)', ('', ''), ('', ''))])
    lines = [f'{count} servers; milliseconds per stage',
             f'  {"stage".ljust(width)}  {"n":>5} {"p50":>9} {"p95":>9} {"max":>9}']
    for name in [s[0] for s in STAGES] + ['total (POST to ACTIVE)']:
        vals = samples.get(name, [])
        if not vals:
            lines.append(f'  {name.ljust(width)}  {0:5d} {"-":>9} {"-":>9} {"-":>9}')
            continue
        lines.append(f'  {name.ljust(width)}  {len(vals):5d} {_pct(vals, .5) * 1000:9.1f} '
                     f'{_pct(vals, .95) * 1000:9.1f} {max(vals) * 1000:9.1f}')
    totals = samples.get('total (POST to ACTIVE)')
    if totals:
        lines.append(f'  mean total {statistics.mean(totals) * 1000:.1f} ms')
    return '\n'.join(lines)
