"""Prefect tasks for ``credential_mode="jwt"``: the connected app's key pair (private key straight into Vault,
staged; certificate onto the app by Metadata API), the user pre-authorized through a permission set that grants
the app (SetupEntityAccess), and a JWT bearer grant as the user as the verification before promoting the key.

The key pair belongs to the connected app (one certificate per app), at ``baton/salesforce/jwt/<app>/key``:
a later run reuses the current key while the app still carries its certificate. Results are ids, versions and
certificate fingerprints, never the key."""

from __future__ import annotations

import re
from typing import Any

from prefect import get_run_logger, task
from pydantic import SecretStr

from clients.salesforce import SalesforceClient, SalesforceError, soql_quote
from clients.salesforce_jwt import fingerprint, jwt_bearer_token, new_key_pair
from clients.vault import VaultNotFound
from core.errors import ConfigError
from tasks.connections import salesforce_admin, salesforce_session
from tasks.retry import RETRY
from tasks.salesforce_metadata import metadata_client as _md
from tasks.services import services

PERSIST: dict[str, Any] = {"persist_result": True, **RETRY}


def jwt_app() -> str:
    app = services().settings.salesforce_jwt_app
    if not app:
        raise ConfigError("set BATON_SALESFORCE_JWT_APP to the connected app Baton puts its certificate on (jwt mode)")
    return app


def key_path(app_name: str) -> str:
    return f"baton/salesforce/jwt/{re.sub(r'[^a-z0-9]+', '-', app_name.lower()).strip('-')}/key"


def app_full_name(app_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", app_name).strip("_")


def _read_app(app_name: str) -> dict[str, Any]:
    app = _md().read("ConnectedApp", app_full_name(app_name))
    if app is None:
        raise ConfigError(f"BATON_SALESFORCE_JWT_APP: no installed connected app {app_name!r} in the org")
    return app


def _same(a: str | None, b: str | None) -> bool:
    return bool(a and b) and "".join(str(a).split()) == "".join(str(b).split())


@task(**PERSIST)
def ensure_jwt_key(app_name: str, vault_path: str, flow_run_id: str) -> dict[str, Any]:
    """The app carries the certificate of a key in Vault (current, or a staged one); otherwise a new pair is made,
    its private key staged in Vault first, then its certificate put on the app and read back.

    ``{"version", "pending": bool, "fingerprint", "consumer_key"}``."""
    custody, logger = services().custody, get_run_logger()
    app = _read_app(app_name)
    config = dict(app.get("oauthConfig") or {})
    on_app = config.get("certificate")
    try:
        state = custody.describe(vault_path)
    except VaultNotFound:
        state = None
    versions = [v for v in ((state.pending_version, state.current_version) if state else ()) if v]
    for version in versions:
        cert = custody.read_version(vault_path, version).values["certificate"].get_secret_value()
        if _same(cert, on_app):
            return {"version": version, "pending": version != state.current_version if state else True,
                    "fingerprint": fingerprint(cert), "consumer_key": str(config.get("consumerKey"))}  # fmt: skip
    if state and state.pending_version:
        version = state.pending_version
        cert = custody.read_version(vault_path, version).values["certificate"].get_secret_value()
    else:
        pair = new_key_pair(f"baton-{app_full_name(app_name)}")
        staged = custody.stage(
            vault_path, {"private_key": pair.private_key.get_secret_value(), "certificate": pair.certificate},
            expect_version=state.latest_version if state else 0, staged_by="create-salesforce-integration-user",
            flow_run_id=flow_run_id,
        )  # fmt: skip
        version, cert = staged.version, pair.certificate
        logger.info("made a key pair for %s; private key staged in Vault %s v%s", app_name, vault_path, version)
    config["certificate"] = cert
    _md().update("ConnectedApp", {**app, "oauthConfig": config})
    if not _same((_read_app(app_name).get("oauthConfig") or {}).get("certificate"), cert):
        raise SalesforceError("set certificate", "NOT_APPLIED", f"{app_name} does not read back with the certificate")
    logger.info("put certificate %s on the connected app %s (Metadata API)", fingerprint(cert), app_name)
    return {
        "version": version,
        "pending": True,
        "fingerprint": fingerprint(cert),
        "consumer_key": str(config.get("consumerKey")),
    }


def _ensure(sobject: str, fields: dict[str, str], create: dict[str, str] | None = None) -> str:
    sf = salesforce_admin()
    where = " AND ".join(f"{name} = {soql_quote(value)}" for name, value in fields.items())
    row = sf.one(f"SELECT Id FROM {sobject} WHERE {where} LIMIT 1")
    if row is not None:
        return str(row["Id"])
    new_id = sf.create(sobject, {**fields, **(create or {})})
    get_run_logger().info("created %s %s", sobject, new_id)
    return new_id


@task(**PERSIST)
def ensure_app_grant(app_name: str, permission_set_name: str, user_id: str) -> dict[str, str]:
    """Pre-authorize *user_id* for the app: a permission set granting it (SetupEntityAccess), assigned to the user."""
    sf = salesforce_admin()
    app = sf.one(
        f"SELECT Id, OptionsAllowAdminApprovedUsersOnly FROM ConnectedApplication WHERE Name = {soql_quote(app_name)}"
    )
    if app is None:
        raise ConfigError(
            f"BATON_SALESFORCE_JWT_APP: {app_name!r} is not installed in the org (Setup > Connected Apps)"
        )
    if not app.get("OptionsAllowAdminApprovedUsersOnly"):
        raise ConfigError(f"{app_name}: set Permitted Users to 'Admin approved users are pre-authorized' (Manage "
                          "Connected Apps > Edit Policies), so that no person has to consent")  # fmt: skip
    ps = _ensure("PermissionSet", {"Name": permission_set_name}, {"Label": f"Baton: {app_name} users"})
    grant = _ensure("SetupEntityAccess", {"ParentId": ps, "SetupEntityId": str(app["Id"])})
    assignment = _ensure("PermissionSetAssignment", {"AssigneeId": user_id, "PermissionSetId": ps})
    return {"permission_set_id": ps, "setup_entity_access_id": grant, "assignment_id": assignment}


@task(**PERSIST)
def verify_jwt_and_promote(
    vault_path: str, version: int, consumer_key: str, username: str, user_id: str, flow_run_id: str, rotated_by: str
) -> int:
    """A JWT bearer grant as *username* signed with the key (version *version*) must answer as *user_id*; then the
    key is promoted (unless it is current already)."""
    custody, settings = services().custody, services().settings
    values = custody.read_version(vault_path, version).values
    login = str(settings.salesforce_login_url).rstrip("/")
    token = jwt_bearer_token(
        f"{login}/services/oauth2/token", consumer_key, username, SecretStr(values["private_key"].get_secret_value()),
        ca_file=settings.salesforce_ca_file,
    )  # fmt: skip
    who = SalesforceClient.with_token(token["instance_url"], token["access_token"], session=salesforce_session())
    answered = who.identity().user_id
    if answered[:15] != user_id[:15]:
        raise SalesforceError("verify", "WRONG_USER", f"the JWT grant answered as {answered}, not as {user_id}")
    if custody.describe(vault_path).current_version != version:
        custody.promote(vault_path, version, rotated_by=rotated_by, flow_run_id=flow_run_id)
        get_run_logger().info("JWT grant as %s works; promoted %s v%s", username, vault_path, version)
    return version
