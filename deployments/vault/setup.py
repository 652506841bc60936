"""Prepare a Vault (or OpenBao) for Baton. Idempotent: run it again and it changes nothing.

Given an address and an admin token it: enables KV v2 at the mount (or checks the existing mount is
KV v2), writes the ``baton-flows`` policy, enables AppRole auth, and creates the ``baton`` role bound
to that policy. It prints the role_id; with ``--secret-id-file`` it also writes a new secret_id to
that file (mode 0600) — never to the terminal.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import hvac
import hvac.exceptions
import requests
import typer

from core.errors import BatonError

POLICY_FILE = Path(__file__).with_name("baton-flows.hcl")
POLICY_NAME = "baton-flows"
ROLE_NAME = "baton"


def render_policy(mount: str, prefix: str) -> str:
    """The shipped policy with its mount ("secret") and prefix ("baton") replaced."""
    text = POLICY_FILE.read_text()
    return re.sub(
        r'path "secret/(data|metadata|delete)/baton/\*"',
        lambda m: f'path "{mount}/{m.group(1)}/{prefix}/*"',
        text,
    )


@dataclass(frozen=True)
class SetupResult:
    role_id: str
    changed: list[str]


def setup_vault(
    client: hvac.Client,
    *,
    mount: str = "secret",
    prefix: str = "baton",
    approle_mount: str = "approle",
    token_ttl: str = "1h",
) -> SetupResult:
    """Make the Vault ready for Baton; returns the role_id and what was changed (empty on a re-run)."""
    changed: list[str] = []
    mounts = client.sys.list_mounted_secrets_engines()["data"]
    existing = mounts.get(f"{mount}/")
    if existing is None:
        client.sys.enable_secrets_engine("kv", path=mount, options={"version": "2"})
        changed.append(f"enabled KV v2 at {mount}/")
    elif existing.get("type") != "kv" or str((existing.get("options") or {}).get("version")) != "2":
        raise BatonError(
            f"{mount}/ is mounted as {existing.get('type')} version "
            f"{(existing.get('options') or {}).get('version')}, not KV v2; choose another BATON_VAULT_KV_MOUNT"
        )
    policy = render_policy(mount, prefix)
    try:
        current = client.sys.read_policy(POLICY_NAME)["data"]["rules"]
    except hvac.exceptions.InvalidPath:
        current = None
    if current != policy:
        client.sys.create_or_update_policy(POLICY_NAME, policy)
        changed.append(f"wrote policy {POLICY_NAME}")
    auth = client.sys.list_auth_methods()["data"]
    if f"{approle_mount}/" not in auth:
        client.sys.enable_auth_method("approle", path=approle_mount)
        changed.append(f"enabled AppRole at auth/{approle_mount}/")
    wanted = {"token_policies": [POLICY_NAME], "token_ttl": token_ttl}
    try:
        role = client.auth.approle.read_role(ROLE_NAME, mount_point=approle_mount)["data"]
    except hvac.exceptions.InvalidPath:
        role = None
    if role is None or role.get("token_policies") != [POLICY_NAME]:
        client.auth.approle.create_or_update_approle(ROLE_NAME, mount_point=approle_mount, **wanted)
        changed.append(f"wrote AppRole role {ROLE_NAME}")
    role_id = client.auth.approle.read_role_id(ROLE_NAME, mount_point=approle_mount)["data"]["role_id"]
    return SetupResult(role_id=str(role_id), changed=changed)


def new_secret_id(client: hvac.Client, approle_mount: str = "approle") -> str:
    reply = client.auth.approle.generate_secret_id(ROLE_NAME, mount_point=approle_mount)
    return str(reply["data"]["secret_id"])


app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(
    addr: str = typer.Option(..., envvar="BATON_VAULT_ADDR", help="Vault address, e.g. http://127.0.0.1:8200"),
    admin_token: str = typer.Option(
        ...,
        envvar="VAULT_ADMIN_TOKEN",
        prompt=True,
        hide_input=True,
        help="A token allowed to manage mounts, policies and auth",
    ),
    mount: str = typer.Option("secret", envvar="BATON_VAULT_KV_MOUNT", help="KV v2 mount for Baton's secrets"),
    prefix: str = typer.Option("baton", envvar="BATON_VAULT_PREFIX", help="Path prefix inside the mount"),
    approle_mount: str = typer.Option("approle", help="Where AppRole auth is (or will be) mounted"),
    secret_id_file: Path | None = typer.Option(None, help="Write a new AppRole secret_id here (mode 0600)"),
) -> None:
    """Enable KV v2, write the baton-flows policy, create the baton AppRole."""
    client = hvac.Client(url=addr, token=admin_token)
    try:
        if not client.is_authenticated():
            raise typer.BadParameter("Vault rejected the admin token", param_hint="--admin-token")
        result = setup_vault(client, mount=mount.strip("/"), prefix=prefix.strip("/"), approle_mount=approle_mount)
        for line in result.changed or ["nothing to change: Vault was already set up"]:
            typer.echo(line)
        typer.echo(f"BATON_VAULT_ROLE_ID={result.role_id}")
        if secret_id_file:
            fd = os.open(secret_id_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(new_secret_id(client, approle_mount) + "\n")
            typer.echo(f"wrote a new secret_id to {secret_id_file} (set BATON_VAULT_SECRET_ID from it)")
    except requests.exceptions.ConnectionError:
        typer.echo(f"cannot reach Vault at {addr}; is it running? check --addr", err=True)
        raise typer.Exit(2) from None
    except (hvac.exceptions.VaultError, BatonError) as exc:
        typer.echo(f"Vault set-up failed: {exc}", err=True)
        raise typer.Exit(1) from None


if __name__ == "__main__":
    app()
