"""prefect.yaml is valid: every deployment's entrypoint imports and names a Prefect flow."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import yaml
from prefect import Flow

ROOT = Path(__file__).parents[2]


def test_every_entrypoint_is_a_flow() -> None:
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    assert config["deployments"], "prefect.yaml lists no deployment"
    for deployment in config["deployments"]:
        path, name = deployment["entrypoint"].split(":")
        assert (ROOT / path).exists(), f"{deployment['name']}: {path} does not exist"
        module = path.removesuffix(".py").replace("/", ".")
        assert importlib.util.find_spec(module) is not None
        obj = getattr(importlib.import_module(module), name)
        assert isinstance(obj, Flow), f"{deployment['entrypoint']} is not a flow"
        assert obj.name == deployment["name"], "deployment names follow their flow's name"
        assert deployment["enforce_parameter_schema"] is True
        assert deployment["work_pool"]["name"] == "baton"


def test_serve_serves_what_prefect_yaml_declares() -> None:
    """baton.serve keeps no list of its own: names, concurrency limits, schema enforcement and schedules
    come from prefect.yaml."""
    from baton.serve import deployments

    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    served = {d.name: d for d in deployments()}
    assert sorted(served) == sorted(entry["name"] for entry in config["deployments"])
    for entry in config["deployments"]:
        runner = served[entry["name"]]
        limit = runner.concurrency_limit
        assert (getattr(limit, "limit", limit)) == entry.get("concurrency_limit"), entry["name"]
        assert runner.enforce_parameter_schema is True
        assert len(runner.schedules or []) == len(entry.get("schedules") or [])
