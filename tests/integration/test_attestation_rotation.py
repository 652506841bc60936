"""``baton rotate-attestation-key``: a new gateway key in Vault, the previous one still verifying answers
signed before the rotation, the one before that no longer (against a real OpenBao)."""

from __future__ import annotations

import hvac

from baton.devstack import OpenBaoDevServer
from baton.stackenv import settings_from
from clients.factory import custody_from
from clients.vault import attestation
from tests.integration.test_cli import cli

# a prefix of its own: rotating the session's key would leave the session's gateway signing with a retired key
PREFIX = {"BATON_VAULT_PREFIX": "baton-rotation-test"}
FIELDS = {"run": "00000000-0000-4000-8000-000000000001", "step": "logout", "outcome": "done"}


def test_rotation_keeps_the_previous_key_for_answers_in_flight(
    baton_env: dict[str, str], openbao: OpenBaoDevServer
) -> None:
    baton_env = {**baton_env, **PREFIX}
    custody = custody_from(settings_from(baton_env))
    first = attestation.ensure_key(custody)
    signed_before = attestation.sign(first, FIELDS)

    done = cli(baton_env, "rotate-attestation-key", "--as", "carol")
    assert done.returncode == 0, done.stderr
    assert "Restart the gateway" in done.stdout

    keys = attestation.read_keys(custody)
    assert len(keys) == 2 and keys[1] == first and keys[0] != first
    assert attestation.verify(keys, FIELDS, signed_before)  # signed before the rotation: still good
    assert attestation.verify(keys, FIELDS, attestation.sign(keys[0], FIELDS))
    assert not attestation.verify(keys, {**FIELDS, "outcome": "problem"}, signed_before)
    state = custody.describe(attestation.key_path(custody))
    assert state.rotated_by == "carol"
    assert first.decode() not in done.stdout + done.stderr  # the key itself is never printed

    assert cli(baton_env, "rotate-attestation-key").returncode == 0
    assert not attestation.verify(attestation.read_keys(custody), FIELDS, signed_before)  # two rotations ago


def test_rotation_without_vault_settings_is_refused_and_changes_nothing(
    baton_env: dict[str, str], openbao: OpenBaoDevServer
) -> None:
    baton_env = {**baton_env, **PREFIX}
    custody = custody_from(settings_from(baton_env))
    attestation.ensure_key(custody)
    before = custody.describe(attestation.key_path(custody)).latest_version
    env = {k: v for k, v in baton_env.items() if not k.startswith("BATON_VAULT_")}
    env["BATON_VAULT_ADDR"] = baton_env["BATON_VAULT_ADDR"]
    env.update(PREFIX)
    refused = cli(env, "rotate-attestation-key")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "BATON_VAULT_TOKEN" in refused.stderr or "role_id" in refused.stderr
    root = hvac.Client(url=openbao.addr, token=openbao.root_token)
    meta = root.secrets.kv.v2.read_secret_metadata(path=attestation.key_path(custody), mount_point="secret")
    assert int(meta["data"]["current_version"]) == before
