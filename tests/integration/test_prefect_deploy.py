"""prefect.yaml deploys: `prefect deploy --all` against the session's server creates every deployment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from baton.devstack import PrefectServer
from clients.prefect_api import prefect_http

ROOT = Path(__file__).parents[2]


def test_prefect_deploy_all(prefect_server: PrefectServer) -> None:
    env = {**os.environ, **prefect_server.client_env()}
    prefect = str(Path(sys.executable).parent / "prefect")
    subprocess.run([prefect, "work-pool", "create", "baton", "--type", "process", "--overwrite"], env=env,
                   cwd=ROOT, check=True, capture_output=True, timeout=120)  # fmt: skip
    done = subprocess.run([prefect, "--no-prompt", "deploy", "--all"], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    names = [d["name"] for d in yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]]
    with prefect_http(prefect_server.api_url) as http:
        for name in names:
            reply = http.get(f"deployments/name/{name}/{name}")
            assert reply.status_code == 200, name
            deployment = reply.json()
            assert deployment["enforce_parameter_schema"] is True and deployment["work_pool_name"] == "baton"
        offboard = http.get("deployments/name/offboard-person/offboard-person").json()
        assert offboard["parameter_openapi_schema"]["required"] == ["request"]  # one parameter declaration
        assert "offboarding" in offboard["tags"]
        sweeper = http.get("deployments/name/remind-waiting-steps/remind-waiting-steps").json()
        assert sweeper["schedules"] and sweeper["schedules"][0]["schedule"]["interval"] == 300
        audit = http.get("deployments/name/audit-integrations/audit-integrations").json()
        assert audit["parameter_openapi_schema"]["properties"].keys() >= {"request", "plan"}
        declared = yaml.safe_load((ROOT / "prefect.yaml").read_text())["definitions"]["schedules"]["weekly_audit"]
        (registered,) = audit["schedules"]
        assert registered["active"] is True
        assert registered["schedule"]["cron"] == declared["cron"] == "0 6 * * 1"
        assert registered["schedule"]["timezone"] == declared["timezone"] == "Europe/London"
