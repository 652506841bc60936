"""The integration catalog: which integrations exist, who they run as, and how each is handed over.

A YAML file (``BATON_CATALOG_PATH``) read by ``load_catalog``; a mistake is a ``CatalogError`` naming
the entry (its id, or its index when the id itself is wrong) and the field, before anything runs::

    integrations:
      - id: salesforce-jira-cloud
        title: Jira Cloud for Salesforce
        flow: rotate-salesforce-jira-connector     # the flow that hands it over (its deployment: flow/flow)
        variant: cloud
        systems: [salesforce, jira]
        connections: {salesforce: Jira Cloud for Salesforce, jira: Acme Salesforce}
        integration_user: alice@acme.example       # who it runs as today
        successor: jira-connector@acme.example     # a dedicated account, as the guides advise
        approvers: [bob@acme.example, carol@acme.example]
        slack_channel: "#it-handover"
        max_credential_age_days: 90
        freeze_leaver_after: true
        expected_minutes: 20
        parameters: {...}                          # passed through to the handover flow's ``request``
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError, field_validator, model_validator

from core.errors import BatonError

System = Literal["salesforce", "jira", "jira_server", "intercom", "jotform"]
ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
# The handover flows Baton has (deployment name -> the variants it takes; empty: no variant).
HANDOVER_FLOWS: dict[str, tuple[str, ...]] = {
    "rotate-salesforce-jira-connector": ("cloud", "server"),
    "change-intercom-app-user": (),
    "create-jotform-api-only-user": (),
    "create-salesforce-integration-user": (),
}
# Keys Baton fills in itself; a catalog may not set them in ``parameters``.
RESERVED_PARAMETERS = ("integration_id", "requested_by", "variant")


class CatalogError(BatonError):
    """The catalog is not usable; the message names each entry and field, and how to fix it."""


class StoredCredential(BaseModel):
    """A credential the integration runs on, in Vault; *test* names the vendor's cheapest read that proves it
    (docs/audit.md lists the keys each test reads from the secret)."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$", description="e.g. baton/integrations/<id>/api-token")
    test: System = Field(description="salesforce (userinfo/limits), jira (myself), jira_server, intercom (me), jotform")


class Integration(BaseModel):
    """One integration: what it connects, who it runs as, and how it is handed over."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="lower-case letters, digits and dashes, unique, e.g. 'salesforce-jira-cloud'")
    title: str = Field(min_length=1, max_length=120)
    flow: str = Field(description=f"the deployment that hands it over: one of {', '.join(HANDOVER_FLOWS)}")
    variant: str | None = None
    deployment: str | None = Field(
        None, pattern=r"^[^/\s]+/[^/\s]+$", description="'<flow>/<deployment>' when not '<flow>/<flow>'"
    )
    systems: list[System] = Field(min_length=1)
    connections: dict[System, str] = Field(description="the connection's name in each system")
    integration_user: EmailStr = Field(description="who the integration runs as today")
    successor: EmailStr | None = Field(
        None,
        description="the dedicated account that takes over (not a person); unset: none named yet",
    )
    approvers: list[EmailStr] = Field(min_length=1)
    slack_channel: str = Field(pattern=r"^(#[a-z0-9._-]{1,80}|C[A-Z0-9]{6,})$", description="'#it-handover' or an id")
    max_credential_age_days: int = Field(gt=0, le=3650)
    freeze_leaver_after: bool = True
    expected_minutes: int = Field(30, gt=0, le=7 * 24 * 60, description="how long the handover usually takes")
    parameters: dict[str, Any] = Field(default_factory=dict)
    credentials: list[StoredCredential] = Field(
        default_factory=list, description="Vault paths of the credentials it runs on (the audit tests and ages them)"
    )

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not ID.match(value):
            raise ValueError(f"{value!r} is not an id: use lower-case letters, digits and dashes, e.g. 'jotform-leads'")
        return value

    @field_validator("flow")
    @classmethod
    def _flow(cls, value: str) -> str:
        if value not in HANDOVER_FLOWS:
            raise ValueError(f"{value!r} is not a handover flow; use one of {', '.join(HANDOVER_FLOWS)}")
        return value

    @field_validator("parameters")
    @classmethod
    def _parameters(cls, value: dict[str, Any]) -> dict[str, Any]:
        taken = [key for key in RESERVED_PARAMETERS if key in value]
        if taken:
            raise ValueError(f"remove {', '.join(taken)}: Baton sets them itself")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Integration:
        variants = HANDOVER_FLOWS[self.flow]
        if variants and self.variant not in variants:
            raise ValueError(f"variant: {self.flow} needs variant {' or '.join(variants)} (got {self.variant!r})")
        if not variants and self.variant is not None:
            raise ValueError(f"variant: {self.flow} takes no variant; remove it (got {self.variant!r})")
        missing = [s for s in self.systems if s not in self.connections]
        if missing:
            raise ValueError(f"connections: name the connection in {', '.join(missing)} (e.g. {missing[0]}: Acme)")
        extra = [s for s in self.connections if s not in self.systems]
        if extra:
            raise ValueError(f"connections: {', '.join(extra)} is not in systems; add it there or remove it")
        if self.successor is not None and self.successor.lower() == self.integration_user.lower():
            raise ValueError("successor: must differ from integration_user (it is who takes over)")
        return self

    def runs_as(self, person: str) -> bool:
        return self.integration_user.lower() == person.lower()

    def request(self, requested_by: str) -> dict[str, Any]:
        """The handover flow's ``request``: the catalog's parameters plus who asks, which integration and (for a
        flow with variants) which variant."""
        variant = {"variant": self.variant} if self.variant else {}
        return {**self.parameters, **variant, "integration_id": self.id, "requested_by": requested_by}

    def target(self) -> str:
        """``<flow name>/<deployment name>``: by default the flow's own deployment (prefect.yaml names each
        deployment after its flow)."""
        return self.deployment or f"{self.flow}/{self.flow}"


class Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organisation: str = Field(min_length=1)
    integrations: list[Integration] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Catalog:
        seen: dict[str, int] = {}
        for index, entry in enumerate(self.integrations):
            if entry.id in seen:
                raise ValueError(
                    f"integrations[{entry.id}].id: entries {seen[entry.id]} and {index} share this id; "
                    "ids must be unique"
                )
            seen[entry.id] = index
        return self

    def of(self, person: str) -> list[Integration]:
        """The integrations that run as *person*."""
        return [entry for entry in self.integrations if entry.runs_as(person)]

    def by_id(self, integration_id: str) -> Integration:
        for entry in self.integrations:
            if entry.id == integration_id:
                return entry
        raise KeyError(integration_id)


def _where(raw: Any, loc: tuple[int | str, ...]) -> str:
    """'integrations[salesforce-jira-cloud].successor' (or [2] when that entry has no usable id)."""
    if len(loc) >= 2 and loc[0] == "integrations" and isinstance(loc[1], int):
        entries = raw.get("integrations") if isinstance(raw, dict) else None
        entry = entries[loc[1]] if isinstance(entries, list) and loc[1] < len(entries) else None
        ident = entry.get("id") if isinstance(entry, dict) else None
        name = f"integrations[{ident}]" if isinstance(ident, str) and ID.match(ident) else f"integrations[{loc[1]}]"
        rest = [str(p) for p in loc[2:]]
        return ".".join([name, *rest])
    return ".".join(str(p) for p in loc) or "catalog"


def _expected(loc: tuple[int | str, ...]) -> str:
    """' (expected: <the field's description>)' for an entry's field that has one."""
    if len(loc) != 3 or loc[0] != "integrations":
        return ""
    info = Integration.model_fields.get(str(loc[2]))
    return f" (expected: {info.description})" if info is not None and info.description else ""


def parse_catalog(raw: Any, source: str = "catalog") -> Catalog:
    """The catalog from parsed YAML, or CatalogError naming every entry and field that is wrong."""
    if not isinstance(raw, dict):
        raise CatalogError(f"{source}: the catalog must be a mapping with 'organisation' and 'integrations'")
    try:
        return Catalog.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            message = str(err["msg"]).removeprefix("Value error, ")
            loc = tuple(err["loc"])
            if message.split(":")[0] in Integration.model_fields and err["type"] == "value_error":
                field, _, message = message.partition(": ")  # a cross-field check names its field first
                loc = (*loc, field)
            problems.append(message if not loc else f"{_where(raw, loc)}: {message}{_expected(loc)}")
        raise CatalogError(f"{source} is not usable (nothing was run); fix: " + "; ".join(problems)) from None


def load_catalog(path: str | Path) -> Catalog:
    """Read and check the catalog at *path*."""
    file = Path(path)
    try:
        raw = yaml.safe_load(file.read_text())
    except FileNotFoundError:
        raise CatalogError(f"no catalog at {file}: set BATON_CATALOG_PATH to the catalog's YAML file") from None
    except yaml.YAMLError as exc:
        raise CatalogError(f"{file} is not YAML (nothing was run); fix the syntax where it says: {exc}") from None
    return parse_catalog(raw, str(file))
