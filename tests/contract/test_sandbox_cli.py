"""``python -m sandbox``: starts every stand-in, writes their URLs, stops cleanly on Ctrl-C; a bad
scenario is refused with its file and key named."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx


def test_starts_writes_urls_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    urls_file = tmp_path / "urls.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--urls-json", str(urls_file)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        for _ in range(200):
            if urls_file.exists() and urls_file.read_text():
                break
            time.sleep(0.05)
        urls = json.loads(urls_file.read_text())
        assert set(urls) >= {"salesforce", "jira", "jira_server", "intercom", "jotform", "slack", "admin", "ca_file"}
        assert all(u.startswith(("http://127.0.0.1:", "https://127.0.0.1:")) for k, u in urls.items() if k != "ca_file")
        assert httpx.get(urls["admin"] + "/healthz").json()["ok"] is True
        assert httpx.get(urls["salesforce"] + "/services/data/", verify=urls["ca_file"]).status_code == 200
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert proc.returncode == 0, out
    assert "sandbox ready" in out and "sandbox stopped" in out


def test_bad_scenario_names_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("salesforce: {}\nzendesk: {}\n")
    proc = subprocess.run([sys.executable, "-m", "sandbox", "--scenario", str(bad)], capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert proc.returncode == 2
    assert "unknown top-level key(s) ['zendesk']" in " ".join(proc.stderr.split())
