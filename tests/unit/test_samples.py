"""etc/minova samples are generated from the code, and must match it."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize('tool,conf,sample', [
    ('oslo-config-generator', 'minova-config-generator.conf', 'minova.conf.sample'),
    ('oslopolicy-sample-generator', 'minova-policy-generator.conf', 'policy.yaml.sample'),
    ('oslopolicy-sample-generator', 'placement-policy-generator.conf',
     'placement-policy.yaml.sample'),
])
def test_sample_is_current(tmp_path: Path, tool: str, conf: str, sample: str) -> None:
    exe = shutil.which(tool)
    assert exe, f'{tool} missing'
    out = tmp_path / sample
    subprocess.run([exe, '--config-file', str(ROOT / 'etc/minova' / conf),
                    '--output-file', str(out)], check=True, cwd=ROOT, capture_output=True)
    assert out.read_text() == (ROOT / 'etc/minova' / sample).read_text(), \
        f'etc/minova/{sample} is stale: run tools/gen-samples.sh'
