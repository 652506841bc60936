"""Canary secrets for tests/e2e/test_canary_every_flow.py: the sample scenario with every machine secret made
unique and recognisable, and the secrets the stack minted during a run, gathered from the sandbox and Vault.

- ``canary_scenario``: sandbox/scenarios/alice-leaving.yaml with each client secret, security token, API token,
  PAT, API key and Slack secret suffixed with ``CNRY<hex>`` (the prefix the stand-ins and Baton may check is
  kept), plus the same swap for Baton's settings (``stack_env`` repeats a few of them; the hook secrets too).
  People's login passwords stay as they are: the autopilot types them, Baton never handles them.
- ``world_secrets``: what the stand-ins minted and hold (OAuth access and refresh tokens and codes, session ids,
  API access tokens, security tokens, generated passwords), by field name anywhere in the sandbox's state.
- ``vault_secrets``: every version of every secret under Baton's prefix (deposited tokens, generated passwords,
  the JWT private key, the attestation key), by key name; a PEM's base64 lines count as values of their own.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from pathlib import Path
from typing import Any

import hvac
import yaml

SCENARIO = Path(__file__).parents[1] / "sandbox" / "scenarios" / "alice-leaving.yaml"
SCENARIO_KEYS = {"security_token", "client_secret", "token", "signing_secret", "verification_token", "api_keys",
                 "org_api_keys"}  # fmt: skip
SETTINGS_SECRETS = {"hook-secret-for-tests-0001": "gateway hook secret", "okta-hook-secret-for-tests-0001":
                    "okta hook secret"}  # fmt: skip
SECRET_NAME = re.compile(r"token|secret|password|private|api_?key|^key$|^sid$", re.IGNORECASE)
KEYED = re.compile(r"(tokens|codes|sessions)$")  # maps keyed by the secret itself
WORLD_NAME = re.compile(r"token|secret|password|api_?key|^sid$|^codes?$", re.IGNORECASE)  # a "key" there is public
NOT_SECRET = re.compile(r"token_type|_id$|_url$|expires|^tokens?_endpoint", re.IGNORECASE)
PEM_LINE = re.compile(r"^[A-Za-z0-9+/=]{40,}$")
MIN_LEN = 8


def canary(old: str) -> str:
    return f"{old}CNRY{secrets.token_hex(6)}"


def _scenario_values(node: Any, key: str = "") -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        for k, v in node.items():
            found += _scenario_values(v, str(k))
    elif isinstance(node, list):
        for item in node:
            found += _scenario_values(item, key)
    elif isinstance(node, str) and key in SCENARIO_KEYS and node:
        found.append((node, f"scenario {key}"))
    return found


def swap(text: str, replace: dict[str, str]) -> str:
    """*text* with each key of *replace* swapped for its value, in one pass (longest first)."""
    pattern = "|".join(re.escape(old) for old in sorted(replace, key=len, reverse=True))
    return re.sub(pattern, lambda m: replace[m.group(0)], text)


def canary_scenario(where: Path) -> tuple[Path, dict[str, str], dict[str, str]]:
    """The scenario with canaries written to *where*; (its path, old → canary, canary → kind)."""
    text = SCENARIO.read_text()
    kinds: dict[str, str] = dict(SETTINGS_SECRETS)
    for value, kind in _scenario_values(yaml.safe_load(text)):
        kinds.setdefault(value, kind)
    replace = {old: canary(old) for old in kinds}
    path = where / "alice-leaving-canaries.yaml"
    path.write_text(swap(text, replace))
    return path, replace, {replace[old]: kind for old, kind in kinds.items()}


def _children(node: Any) -> list[tuple[str, Any]]:
    if isinstance(node, dict):
        return [(str(k), v) for k, v in node.items()]
    if isinstance(node, (list, tuple, set)):
        return [("", v) for v in node]
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return [(f.name, getattr(node, f.name)) for f in dataclasses.fields(node)]
    if hasattr(node, "__dict__") and not isinstance(node, type) and type(node).__module__.startswith("sandbox"):
        return list(vars(node).items())
    return []


def world_secrets(world: Any) -> dict[str, str]:
    """value → kind for every secret-named string in the stand-ins' state (and the keys of secret-named maps)."""
    found: dict[str, str] = {}
    seen: set[int] = set()

    def walk(node: Any, vendor: str, name: str, depth: int) -> None:
        if id(node) in seen or depth > 12 or type(node).__name__ == "World":
            return
        seen.add(id(node))
        if isinstance(node, dict) and KEYED.search(name):  # e.g. access_tokens: {token: Token}
            for key in node:
                if isinstance(key, str) and len(key) >= MIN_LEN:
                    found.setdefault(key, f"{vendor} {name}")
        for child_name, child in _children(node):
            if isinstance(child, str):
                named = child_name or name
                if WORLD_NAME.search(named) and not NOT_SECRET.search(named) and len(child) >= MIN_LEN:
                    if not child.startswith(("http://", "https://")):
                        found.setdefault(child, f"{vendor} {named}")
            else:
                walk(child, vendor, child_name or name, depth + 1)

    for vendor, state in world.vendors.items():
        walk(state, vendor, "", 0)
    return found


def vault_secrets(client: hvac.Client, prefix: str = "baton", mount: str = "secret") -> dict[str, str]:
    """value → kind for every secret-named key of every version under *prefix* (deleted versions are empty)."""
    found: dict[str, str] = {}

    def paths(folder: str) -> list[str]:
        keys = client.secrets.kv.v2.list_secrets(path=folder, mount_point=mount)["data"]["keys"]
        out = []
        for key in keys:
            out += paths(f"{folder}/{key.rstrip('/')}") if key.endswith("/") else [f"{folder}/{key}"]
        return out

    for path in paths(prefix):
        meta = client.secrets.kv.v2.read_secret_metadata(path=path, mount_point=mount)["data"]
        for version, info in meta["versions"].items():
            if info.get("deletion_time") or info.get("destroyed"):
                continue
            kv = client.secrets.kv.v2
            read = kv.read_secret_version(path=path, version=int(version), mount_point=mount,
                                          raise_on_deleted_version=False)  # fmt: skip
            data = read["data"]["data"] or {}
            leaf = path.rsplit("/", 1)[-1]
            for key, value in data.items():
                if not isinstance(value, str) or len(value) < MIN_LEN:
                    continue
                if (SECRET_NAME.search(key) and not NOT_SECRET.search(key)) or "PRIVATE KEY" in value:
                    found.setdefault(value, f"vault {leaf}/{key}")
                    for line in value.splitlines():
                        if PEM_LINE.match(line.strip()):
                            found.setdefault(line.strip(), f"vault {leaf}/{key} (PEM line)")
    return found


def audit_catalog(where: Path, custody: Any, replace: dict[str, str]) -> Path:
    """The demo's catalog with stored credentials for the audit to test (each a canary, valid in the canary
    world; alice's Salesforce login fails once she is frozen, so one test read takes the failure path)."""
    from tests.audit_world import _store

    catalog = yaml.safe_load((Path(__file__).parents[1] / "deployments" / "catalog" / "alice-leaving.yaml").read_text())
    base = f"baton/integrations/canary-audit-{secrets.token_hex(4)}"
    creds = {
        "salesforce-jira-cloud": [("jira", {"api_token": replace["ATATT-bob-token-0001"], "email": "bob@acme.example"}),
                                  ("salesforce", {"password": "alice-sf-Passw0rd", "username": "alice@acme.example",
                                                  "security_token": replace["ALICETOKEN00000000000001"]})],
        "salesforce-jira-server": [("jira_server", {"token": replace["NjEbobPAT0001"]})],
        "intercom-jira-app": [("intercom", {"access_token": replace["dG9rOmJvYi1iYXRvbi10b2tlbi0wMDAx"]})],
        "jotform-contact-sales": [("jotform", {"api_key": replace["jf-apikey-acme-0001"]})],
    }  # fmt: skip
    for entry in catalog["integrations"]:
        entry["credentials"] = []
        for test, values in creds[entry["id"]]:
            path = f"{base}/{entry['id']}-{test}"
            _store(custody, path, values)
            entry["credentials"].append({"path": path, "test": test})
    path = where / "audit-catalog.yaml"
    path.write_text(yaml.safe_dump(catalog, sort_keys=False))
    return path
