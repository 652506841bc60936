"""Serve the connector handovers for the tests: ``python serve_handovers.py`` runs ``serve()`` with the
deployments ``rotate-salesforce-jira-connector/rotate-salesforce-jira-connector`` and
``change-intercom-app-user/change-intercom-app-user`` (entrypoints in this file, so that each flow process
the runner starts imports it and arms the crash hook).

With BATON_TEST_CRASH_FILE set to a file that exists (armed), a flow process dies (os._exit) right after a task it
*executed* (cached replays are not crash points) unless it crashed there before: tests/flows/crash_points.py, the
crash matrix's points (task boundaries only here: the test restarts the runner while a run waits). Each point is
the task's name and its call's place in the run (``check_tokens#1``), recorded in ``<file>.log``. A test
reschedules each crashed run, so the run crashes once at every task boundary on its way through.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

from prefect import serve
from prefect.deployments.runner import RunnerDeployment

from flows.intercom_app_user import change_intercom_app_user
from flows.salesforce_jira_connector import rotate_salesforce_jira_connector

__all__ = ["change_intercom_app_user", "rotate_salesforce_jira_connector"]
TASK_MODULES = (
    "tasks.connector",
    "tasks.handover_guard",
    "tasks.notify",
    "tasks.vaultrefs",
    "tasks.jira",
    "tasks.intercom",
)
HERE = Path(__file__).resolve()

if os.environ.get("BATON_TEST_CRASH_FILE"):
    for _name in TASK_MODULES:
        try:
            importlib.import_module(_name)
        except ModuleNotFoundError:
            continue
    sys.path.insert(0, str(HERE.parents[2]))
    from tests.flows.crash_points import arm

    arm(TASK_MODULES, waits=False)


def deployments() -> list[RunnerDeployment]:
    root = HERE.parents[2]
    rel = HERE.relative_to(root)
    return [
        RunnerDeployment.from_entrypoint(f"{rel}:{name}", name=deployment)
        for name, deployment in (
            ("rotate_salesforce_jira_connector", "rotate-salesforce-jira-connector"),
            ("change_intercom_app_user", "change-intercom-app-user"),
        )
    ]


if __name__ == "__main__":
    serve(*deployments())
