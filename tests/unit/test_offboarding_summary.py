"""When offboarding may freeze the leaver: every handover verified, nothing outside the catalog, and every
catalog entry of theirs asks for it. Otherwise the reason names what still runs as the leaver."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from flows.catalog import Catalog, load_catalog
from flows.discovery import Discovery, Finding
from flows.offboarding_plan import OffboardRequest, plan_handovers
from flows.offboarding_summary import verified, why_not_freeze

ROOT = Path(__file__).parents[2]
ALICE = "alice@acme.example"
REQ = OffboardRequest.model_validate({"person": ALICE, "requested_by": "carol@acme.example"})


def _setup(catalog: Catalog | None = None) -> tuple[Catalog, list[dict[str, Any]], dict[str, dict[str, Any]]]:
    catalog = catalog or load_catalog(ROOT / "deployments" / "catalog" / "alice-leaving.yaml")
    items = plan_handovers(catalog.of(ALICE), ALICE, None, 120, dt.datetime.now(dt.UTC))
    final = {i["integration_id"]: {"type": "COMPLETED", "status": "done", "run_id": "r"} for i in items}
    return catalog, items, final


def test_all_verified_and_nothing_else_found_may_freeze() -> None:
    catalog, items, final = _setup()
    assert why_not_freeze(REQ, catalog, Discovery(ALICE, "005"), items, final) == ""


def test_a_failed_or_stopped_handover_keeps_the_leaver_unfrozen_and_is_named() -> None:
    catalog, items, final = _setup()
    final["jotform-contact-sales"] = {"type": "FAILED", "status": None}
    final["intercom-jira-app"] = {"type": "COMPLETED", "status": "stopped: a person reported a problem"}
    reason = why_not_freeze(REQ, catalog, Discovery(ALICE, "005"), items, final)
    assert reason == f"intercom-jira-app, jotform-contact-sales still run(s) as {ALICE}"
    assert not verified(final["intercom-jira-app"]) and verified({"type": "COMPLETED", "status": None})


def test_something_found_outside_the_catalog_keeps_the_leaver_unfrozen() -> None:
    catalog, items, final = _setup()
    found = Discovery(ALICE, "005", found=[Finding("Salesforce OauthToken", "Zapier", "authorised", None, "add")])
    assert "not in the catalog" in why_not_freeze(REQ, catalog, found, items, final)
    assert "Zapier" in why_not_freeze(REQ, catalog, found, items, final)


def test_an_entry_that_says_not_to_freeze_is_respected() -> None:
    base = load_catalog(ROOT / "deployments" / "catalog" / "alice-leaving.yaml")
    entries = [e.model_copy(update={"freeze_leaver_after": e.id != "intercom-jira-app"}) for e in base.integrations]
    catalog, items, final = _setup(base.model_copy(update={"integrations": entries}))
    assert "freeze_leaver_after: false" in why_not_freeze(REQ, catalog, Discovery(ALICE, "005"), items, final)
    nobody = why_not_freeze(REQ, catalog, Discovery(ALICE, "005"), [], {})
    assert nobody == "no catalog entry of theirs asks for it"
