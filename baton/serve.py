"""``python -m baton.serve``: serve Baton's deployments in one process with Prefect's ``serve()``
(the embedded default; the scale-out path is a process work pool, see prefect.yaml)."""

from __future__ import annotations

from typing import cast

from prefect import serve
from prefect.deployments.runner import RunnerDeployment

from flows.jotform_api_only_user import create_jotform_api_only_user
from flows.offboarding import offboard_person
from flows.salesforce_integration_user import create_salesforce_integration_user
from flows.sweeper import remind_waiting_steps


def main() -> None:
    deployments = [
        create_salesforce_integration_user.to_deployment(name="create-salesforce-integration-user"),
        create_jotform_api_only_user.to_deployment(name="create-jotform-api-only-user"),
        offboard_person.to_deployment(name="offboard-person"),
        remind_waiting_steps.to_deployment(name="remind-waiting-steps", interval=300),
    ]
    serve(*[cast(RunnerDeployment, d) for d in deployments])


if __name__ == "__main__":
    main()
