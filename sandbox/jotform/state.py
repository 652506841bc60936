"""Jotform's state: one account (API keys), its forms, webhooks, and each form's Salesforce integration.

Python API: ``account(world)`` (a ``JotformAccount``); ``integration(world, form_id)`` -> the form's Salesforce
integration as a dict (``salesforce_user_id``, ``salesforce_username``, ``action``, ``object``, ``mapping``,
``status``) or None.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sandbox.jira.state import SeedError, _check_keys, _req
from sandbox.world import World

VENDOR_KEY = "jotform"
ACTIONS = {"create_or_update": "Create or update a record", "find": "Find existing record"}
OBJECTS = {
    "Lead": ["LastName", "FirstName", "Email", "Company", "Phone", "Description"],
    "Contact": ["LastName", "FirstName", "Email", "Phone", "Title"],
    "Account": ["Name", "Phone", "Website", "Industry"],
    "Case": ["Subject", "Description", "SuppliedEmail", "SuppliedName"],
}


@dataclass
class SalesforceIntegration:
    status: str = "not_configured"  # not_configured | authenticated | active
    salesforce_user_id: str = ""
    salesforce_username: str = ""
    access_token: str = ""
    refresh_token: str = ""
    action: str = ""
    object: str = ""
    mapping: dict[str, str] = field(default_factory=dict)  # form field name -> Salesforce field
    saved_at: str = ""


@dataclass
class Form:
    id: str
    title: str
    fields: list[dict[str, str]]  # {"qid", "name", "text"}
    created_at: str = "2024-02-01 10:00:00"
    count: int = 0
    webhooks: list[str] = field(default_factory=list)
    salesforce: SalesforceIntegration = field(default_factory=SalesforceIntegration)


@dataclass
class JotformAccount:
    username: str
    name: str
    email: str
    api_keys: list[str]
    sf_app: str
    sf_client_id: str
    sf_client_secret: str
    time_zone: str = "Europe/London"
    forms: dict[str, Form] = field(default_factory=dict)
    pending: dict[str, dict[str, str]] = field(default_factory=dict)  # OAuth state -> form id, PKCE verifier


def account(world: World) -> JotformAccount:
    state = world.vendors.get(VENDOR_KEY)
    if not isinstance(state, JotformAccount):
        raise LookupError("the Jotform stand-in is not seeded (scenario section 'jotform')")
    return state


def integration(world: World, form_id: str) -> dict[str, Any] | None:
    with world.lock:
        form = account(world).forms.get(form_id)
        if form is None:
            return None
        data = asdict(form.salesforce)
        data.pop("access_token")
        data.pop("refresh_token")
        return data


def seed_account(section: dict[str, Any]) -> JotformAccount:
    section = _check_keys(section, {"account", "salesforce_app", "forms"}, "jotform")
    acc = _check_keys(
        _req(section, "account", "jotform"), {"username", "name", "email", "api_keys", "time_zone"}, "jotform.account"
    )
    keys = acc.get("api_keys")
    if not isinstance(keys, list) or not keys:
        raise SeedError("jotform.account.api_keys: give at least one API key")
    app = _check_keys(
        _req(section, "salesforce_app", "jotform"), {"name", "client_id", "client_secret"}, "jotform.salesforce_app"
    )
    state = JotformAccount(
        str(_req(acc, "username", "jotform.account")),
        str(acc.get("name", "")),
        str(_req(acc, "email", "jotform.account")),
        [str(k) for k in keys],
        str(app.get("name", "Jotform")),
        str(_req(app, "client_id", "jotform.salesforce_app")),
        str(_req(app, "client_secret", "jotform.salesforce_app")),
        str(acc.get("time_zone", "Europe/London")),
    )
    for i, f in enumerate(section.get("forms") or []):
        w = f"jotform.forms[{i}]"
        f = _check_keys(f, {"id", "title", "fields", "count", "webhooks", "salesforce"}, w)
        fields = []
        for j, q in enumerate(f.get("fields") or []):
            q = _check_keys(q, {"qid", "name", "text"}, f"{w}.fields[{j}]")
            fields.append(
                {
                    "qid": str(_req(q, "qid", f"{w}.fields[{j}]")),
                    "name": str(_req(q, "name", w)),
                    "text": str(q.get("text", q["name"])),
                }
            )
        form = Form(
            str(_req(f, "id", w)),
            str(_req(f, "title", w)),
            fields,
            count=int(f.get("count", 0)),
            webhooks=[str(u) for u in f.get("webhooks") or []],
        )
        if f.get("salesforce"):
            form.salesforce = _seed_integration(f["salesforce"], fields, f"{w}.salesforce")
        state.forms[form.id] = form
    return state


def _seed_integration(data: Any, fields: list[dict[str, str]], w: str) -> SalesforceIntegration:
    data = _check_keys(data, {"authenticated_as", "action", "object", "mapping"}, w)
    action, obj = str(_req(data, "action", w)), str(_req(data, "object", w))
    if action not in ACTIONS:
        raise SeedError(f"{w}.action must be one of {sorted(ACTIONS)}; got {action!r}")
    if obj not in OBJECTS:
        raise SeedError(f"{w}.object must be one of {sorted(OBJECTS)}; got {obj!r}")
    mapping = {str(k): str(v) for k, v in (data.get("mapping") or {}).items()}
    names = {q["name"] for q in fields}
    for k, v in mapping.items():
        if k not in names or v not in OBJECTS[obj]:
            raise SeedError(f"{w}.mapping: {k!r} -> {v!r} needs a form field and a {obj} field ({OBJECTS[obj]})")
    return SalesforceIntegration(
        "active",
        "",
        str(_req(data, "authenticated_as", w)),
        action=action,
        object=obj,
        mapping=mapping,
        saved_at="2024-02-01T10:00:00Z",
    )
