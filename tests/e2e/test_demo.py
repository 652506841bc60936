"""The README's demo command, on autopilot: the whole stack starts, a rotation run suspends at its
human steps, the autopilot answers through Slack, the reveal page and Salesforce's consent, and the
run completes with its report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_demo_on_autopilot(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "baton.demo", "--autopilot", "--prefect-port", "0", "--gateway-port", "0",
         "--state-dir", str(tmp_path / "demo")],
        cwd=ROOT, capture_output=True, text=True, timeout=420,
    )  # fmt: skip
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-4000:]
    assert "status: ok" in out and "COMPLETED" in out
    assert "| Restrict login IP ranges and hours | set by Metadata API on Integration API, read back |" in out
    assert "via oauth (verified)" in out and "is current" in out
    assert done.stdout.rstrip().endswith("stopped.")
