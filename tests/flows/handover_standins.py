"""TEST-ONLY stand-ins for the handover flows (issue 9 builds the real ones), served with ``serve()`` as
``<flow>/standin`` (a test catalog names them with ``deployment:``) so offboard_person starts real runs of
real deployments. Each does what its ``request`` says:
``standin: done`` (default) completes reporting done, ``fail`` raises, ``problem`` completes reporting a
stop; ``standin_seconds`` is how long it takes. Run: ``python tests/flows/handover_standins.py``.
"""

from __future__ import annotations

import time
from typing import Any

from prefect import flow, serve


def _act(kind: str, request: dict[str, Any], plan: bool) -> dict[str, Any]:
    if plan:
        return {"plan": f"stand-in {kind}"}
    time.sleep(float(request.get("standin_seconds", 0.5)))
    outcome = request.get("standin", "done")
    if outcome == "fail":
        raise RuntimeError(f"stand-in {kind} was told to fail for {request.get('integration_id')}")
    status = "done" if outcome == "done" else "stopped: a person reported a problem"
    return {"status": status, "integration_id": request.get("integration_id"), "standin": kind}


@flow(name="rotate-salesforce-jira-connector", persist_result=True)
def rotate_standin(request: dict[str, Any], plan: bool = False) -> dict[str, Any]:
    return _act("rotate-salesforce-jira-connector", request, plan)


@flow(name="change-intercom-app-user", persist_result=True)
def intercom_standin(request: dict[str, Any], plan: bool = False) -> dict[str, Any]:
    return _act("change-intercom-app-user", request, plan)


@flow(name="create-jotform-api-only-user", persist_result=True)
def jotform_standin(request: dict[str, Any], plan: bool = False) -> dict[str, Any]:
    return _act("create-jotform-api-only-user", request, plan)


FLOWS = [rotate_standin, intercom_standin, jotform_standin]
DEPLOYMENT = "standin"  # not the flows' own deployment names: `prefect deploy --all` may run in the same session

if __name__ == "__main__":
    from flows.offboarding import offboard_person  # the real flow, as a deployment: its approval suspends

    deployments = [f.to_deployment(name=DEPLOYMENT) for f in FLOWS]
    serve(*deployments, offboard_person.to_deployment(name="test"), limit=8)  # type: ignore[arg-type]
