"""A stand-in deployment for the offboarding flow: the gateway's webhooks start runs of it.

It carries offboard_person's own parameter schema (enforced), so a run the gateway creates is one the real
flow accepts. Nobody executes these runs (no work pool, no worker): the tests only look at what was created.
"""

from __future__ import annotations

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.utilities.callables import parameter_schema

from flows.offboarding import offboard_person

DEPLOYMENT = "hook"


@flow(name="offboarding-probe")
def offboarding_probe(request: dict[str, object], plan: bool = False) -> str:
    return f"{request}"


def register_deployment() -> str:
    """Create (or update) the probe's deployment in the current Prefect API; returns ``<flow>/<deployment>``."""
    with get_client(sync_client=True) as client:
        flow_id = client.create_flow(offboarding_probe)
        client.create_deployment(
            flow_id=flow_id,
            name=DEPLOYMENT,
            entrypoint="tests/flows/offboarding_probe.py:offboarding_probe",
            parameter_openapi_schema=parameter_schema(offboard_person).model_dump_for_openapi(),
            enforce_parameter_schema=True,
        )
    return f"{offboarding_probe.name}/{DEPLOYMENT}"
