"""The frame-check benchmark runs (its short mode), so a change that breaks it is seen."""

import subprocess
import sys
from pathlib import Path


def test_bench_frame_checks_quick_prints_its_figures():
    script = Path(__file__).parent.parent / "benchmarks" / "bench_frame_checks.py"
    out = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [line.split() for line in out.stdout.splitlines()[1:]]
    assert [r[0] for r in rows] == ["512", "1024"] and all(int(r[3]) > 0 for r in rows)  # stars found
