"""Shared test set-up: a parsed, empty configuration before any test runs,
and each tier's time in the summary (CI prints it to keep the run short)."""
from __future__ import annotations

import os
from collections import defaultdict
from typing import Any

from minova.conf import CONF
from tests import cli_poll

_TIER_SECONDS: dict[str, float] = defaultdict(float)


def pytest_configure(config: Any) -> None:  # noqa: ARG001 - pytest hook signature
    CONF([], project='minova', default_config_files=[])
    # The `openstack`/`nova` clients the tests run poll every 0.25 s on
    # --wait/--poll (tests/cli_poll/sitecustomize.py).
    os.environ['PYTHONPATH'] = cli_poll.pythonpath(
        *filter(None, os.environ.get('PYTHONPATH', '').split(os.pathsep)))


def pytest_runtest_logreport(report: Any) -> None:
    # tests/<tier>/...: setup, call and teardown (module fixtures bring whole
    # deployments up in setup, so they count where they are used).
    parts = report.nodeid.split('/')
    tier = parts[1] if len(parts) > 2 and parts[0] == 'tests' else 'other'
    if tier == 'integration' and len(parts) > 3:
        tier = f'integration/{parts[2]}'
    _TIER_SECONDS[tier] += report.duration


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _TIER_SECONDS:
        return
    lines = [f'{tier:<32} {seconds:8.1f} s' for tier, seconds in
             sorted(_TIER_SECONDS.items(), key=lambda kv: -kv[1])]
    lines.append(f'{"total":<32} {sum(_TIER_SECONDS.values()):8.1f} s')
    terminalreporter.section('time per tier')
    for line in lines:
        terminalreporter.write_line(line)
    # .ci/run prints the same table again at its very end, after each step's time.
    path = os.environ.get('MINOVA_TIER_TIMES')
    if path:
        with open(path, 'w') as f:
            f.write('\n'.join(lines) + '\n')
