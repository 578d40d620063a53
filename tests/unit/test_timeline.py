"""Boot timeline stages are the gaps between recorded timestamps."""
import datetime

from minova.cmd import timeline

T0 = datetime.datetime(2026, 11, 21, 10, 0, 0)


def at(ms: float) -> datetime.datetime:
    return T0 + datetime.timedelta(milliseconds=ms)


def test_stages_from_events_and_instance_stamps():
    instance = {'created_at': at(0), 'launched_at': at(500)}
    events = [
        {'event': 'conductor_schedule_and_build_instances', 'start_time': at(10),
         'finish_time': at(90)},
        {'event': 'schedule_instances', 'start_time': at(20), 'finish_time': at(60)},
        {'event': 'compute_build_and_run_instance', 'start_time': at(100),
         'finish_time': at(510)},
        {'event': 'compute_spawn', 'start_time': at(150), 'finish_time': at(450)},
    ]
    got = dict(timeline.stages(instance, events))
    assert got == {
        'api to conductor': 0.010, 'scheduling and claim': 0.040,
        'hand-over to compute': 0.040, 'compute prepares': 0.050,
        'hypervisor spawn': 0.300, 'to ACTIVE': 0.050, 'total (POST to ACTIVE)': 0.5}


def test_missing_boundaries_are_unknown_not_zero():
    instance = {'created_at': at(0), 'launched_at': None}
    got = dict(timeline.stages(instance, [{'event': 'schedule_instances',
                                           'start_time': at(5), 'finish_time': at(7)}]))
    assert got['scheduling and claim'] == 0.002
    assert got['hypervisor spawn'] is None
    assert got['total (POST to ACTIVE)'] is None
