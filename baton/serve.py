"""``python -m baton.serve``: serve the deployments prefect.yaml declares, in one process, with Prefect's
``serve()`` (the embedded default; the scale-out path is a process work pool, see prefect.yaml).

prefect.yaml is the one list of deployments: each entry's entrypoint, description, tags, concurrency limit,
parameter-schema enforcement and schedules are served as declared there.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any, cast

import yaml
from prefect import Flow, serve
from prefect.deployments.runner import RunnerDeployment
from prefect.flows import load_flow_from_entrypoint
from prefect.schedules import Cron, Interval, Schedule

ROOT = Path(__file__).resolve().parents[1]
PREFECT_YAML = ROOT / "prefect.yaml"


def _schedule(entry: dict[str, Any]) -> Schedule:
    if "cron" in entry:
        return Cron(entry["cron"], timezone=entry.get("timezone"))
    if "interval" in entry:
        return Interval(dt.timedelta(seconds=float(entry["interval"])), timezone=entry.get("timezone"))
    raise ValueError(f"prefect.yaml: a schedule needs cron or interval, got {sorted(entry)}")


def deployments(path: Path = PREFECT_YAML) -> list[RunnerDeployment]:
    """One RunnerDeployment per entry of prefect.yaml's ``deployments``."""
    config = yaml.safe_load(path.read_text())
    served = []
    for entry in config["deployments"]:
        flow: Flow[..., Any] = load_flow_from_entrypoint(str(ROOT / entry["entrypoint"]))
        runner = flow.to_deployment(
            name=entry["name"],
            description=entry.get("description"),
            tags=entry.get("tags"),
            concurrency_limit=entry.get("concurrency_limit"),
            enforce_parameter_schema=bool(entry.get("enforce_parameter_schema", True)),
            schedules=[_schedule(s) for s in entry.get("schedules") or []],
        )
        served.append(cast(RunnerDeployment, runner))
    return served


def main() -> None:
    sys.path.insert(0, str(ROOT))  # entrypoints are paths in this checkout
    serve(*deployments())


if __name__ == "__main__":
    main()
