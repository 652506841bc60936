"""A stand-in handover deployment for the audit's "Hand over" button: the gateway starts runs of it.

Nobody executes these runs (no work pool, no worker): they stay Scheduled, which is what "a handover of that
integration is under way" looks like to the gateway; the tests look at what was created.
"""

from __future__ import annotations

from prefect import flow
from prefect.client.orchestration import get_client

DEPLOYMENT = "audit-probe"


@flow(name="audit-handover-probe")
def audit_handover_probe(request: dict[str, object], plan: bool = False) -> str:
    return f"{request}"


def register_deployment() -> str:
    """Create (or update) the probe's deployment in the current Prefect API; returns ``<flow>/<deployment>``."""
    with get_client(sync_client=True) as client:
        flow_id = client.create_flow(audit_handover_probe)
        client.create_deployment(
            flow_id=flow_id, name=DEPLOYMENT, entrypoint="tests/flows/audit_probe.py:audit_handover_probe"
        )
    return f"{audit_handover_probe.name}/{DEPLOYMENT}"
