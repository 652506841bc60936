"""Custody against a real OpenBao dev server: check-and-set races, labels, AppRole policy, bad input."""

from __future__ import annotations

import logging
import secrets
import threading
import uuid

import hvac
import hvac.exceptions
import pytest
from pydantic import SecretStr

from baton.devstack import OpenBaoDevServer, free_port
from clients.vault import (
    Custody,
    CustodyConflict,
    CustodyInputError,
    VaultAuth,
    VaultAuthError,
    VaultError,
    VaultNotFound,
    VaultPermissionDenied,
    VaultUnreachable,
    connect,
)
from deployments.vault.setup import new_secret_id, setup_vault


def _root(openbao: OpenBaoDevServer) -> hvac.Client:
    return hvac.Client(url=openbao.addr, token=openbao.root_token)


@pytest.fixture
def custody(openbao: OpenBaoDevServer) -> Custody:
    client = connect(VaultAuth(addr=openbao.addr, token=SecretStr(openbao.root_token)))
    return Custody(client)


def _path() -> str:
    return f"baton/integrations/test-{uuid.uuid4().hex[:10]}/api-token"


def _canary() -> str:
    return "canary-" + secrets.token_hex(12)


def test_two_concurrent_stages_one_wins(custody: Custody) -> None:
    path = _path()
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def stage(value: str) -> None:
        barrier.wait()
        try:
            outcomes.append(custody.stage(path, {"token": value}, expect_version=0))
        except CustodyConflict as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=stage, args=(_canary(),)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wins = [o for o in outcomes if not isinstance(o, CustodyConflict)]
    losses = [o for o in outcomes if isinstance(o, CustodyConflict)]
    assert len(wins) == 1 and len(losses) == 1, outcomes
    assert "check-and-set" in str(losses[0]) and path in str(losses[0])
    state = custody.describe(path)
    assert state.latest_version == 1 and state.pending_version == 1 and state.current_version is None


def test_promote_and_rollback_move_current_and_previous(custody: Custody) -> None:
    path = _path()
    v1 = custody.stage(path, {"token": "first-" + _canary()}, expect_version=0)
    state = custody.promote(path, v1.version, rotated_by="bob", flow_run_id="run-1")
    assert (state.current_version, state.previous_version, state.pending_version) == (1, None, None)
    assert state.rotated_by == "bob" and state.flow_run_id == "run-1" and state.max_versions == 20
    assert custody.promote(path, 1).current_version == 1  # idempotent

    second = "second-" + _canary()
    v2 = custody.stage(path, {"token": second}, expect_version=1)
    pending = custody.describe(path)
    assert (pending.current_version, pending.pending_version) == (1, 2)
    assert custody.read_current(path).values["token"].get_secret_value().startswith("first-")

    state = custody.promote(path, v2.version)
    assert (state.current_version, state.previous_version, state.pending_version) == (2, 1, None)
    assert custody.read_current(path).values["token"].get_secret_value() == second

    state = custody.rollback(path)
    assert (state.current_version, state.previous_version) == (1, None)
    assert custody.read_current(path).values["token"].get_secret_value().startswith("first-")
    with pytest.raises(VaultNotFound, match="no previous version"):
        custody.rollback(path)


def test_discard_pending_keeps_current_and_previous(custody: Custody) -> None:
    path = _path()
    custody.promote(path, custody.stage(path, {"token": _canary()}, expect_version=0).version)
    custody.promote(path, custody.stage(path, {"token": _canary()}, expect_version=1).version)
    custody.stage(path, {"token": _canary()}, expect_version=2)
    state = custody.discard_pending(path)
    assert state.pending_version is None and state.deleted_versions == (3,)
    assert (state.current_version, state.previous_version) == (2, 1)
    assert custody.discard_pending(path) == state  # idempotent
    with pytest.raises(VaultNotFound, match="deleted"):
        custody.promote(path, 3)


def test_stage_refuses_to_push_current_out_of_history(openbao: OpenBaoDevServer) -> None:
    custody = Custody(connect(VaultAuth(addr=openbao.addr, token=SecretStr(openbao.root_token))), max_versions=3)
    path = _path()
    custody.promote(path, custody.stage(path, {"t": _canary()}, expect_version=0).version)
    custody.stage(path, {"t": _canary()}, expect_version=1)
    custody.stage(path, {"t": _canary()}, expect_version=2)
    with pytest.raises(CustodyInputError, match="out of Vault's history"):
        custody.stage(path, {"t": _canary()}, expect_version=3)
    assert custody.describe(path).latest_version == 3
    assert custody.read_current(path).version == 1


def test_approle_with_shipped_policy_is_confined_to_prefix(openbao: OpenBaoDevServer) -> None:
    root = _root(openbao)
    result = setup_vault(root)
    assert result.changed == []  # the fixture already set it up: a re-run changes nothing
    auth = VaultAuth(addr=openbao.addr, role_id=result.role_id, secret_id=SecretStr(new_secret_id(root)))
    client = connect(auth)
    custody = Custody(client)
    path = _path()
    staged = custody.stage(path, {"token": _canary()}, expect_version=0)
    custody.promote(path, staged.version)
    assert custody.read_current(path).version == 1

    outside = Custody(client, prefix="elsewhere")
    with pytest.raises(VaultPermissionDenied) as denied:
        outside.stage("elsewhere/x/y", {"token": _canary()}, expect_version=0)
    assert "permission denied" in str(denied.value) and "elsewhere/x/y" in str(denied.value)
    with pytest.raises(hvac.exceptions.Forbidden):
        client.secrets.kv.v2.read_secret_version(
            path="other/thing", mount_point="secret", raise_on_deleted_version=True
        )
    with pytest.raises(hvac.exceptions.Forbidden):
        client.secrets.kv.v2.delete_metadata_and_all_versions(path=path, mount_point="secret")


def test_wrong_approle_secret_id_is_a_clear_error(openbao: OpenBaoDevServer) -> None:
    role_id = setup_vault(_root(openbao)).role_id
    wrong = "not-the-secret-id-" + secrets.token_hex(4)
    with pytest.raises(VaultAuthError) as err:
        connect(VaultAuth(addr=openbao.addr, role_id=role_id, secret_id=SecretStr(wrong)))
    assert "BATON_VAULT_SECRET_ID" in str(err.value) and wrong not in str(err.value)


def test_unreachable_vault_names_the_address() -> None:
    addr = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(VaultUnreachable, match="cannot reach Vault at " + addr):
        connect(VaultAuth(addr=addr, token=SecretStr("whatever-token")))


@pytest.mark.parametrize(
    ("path", "secret", "message"),
    [
        ("", {"t": "v"}, "the path is empty"),
        ("   ", {"t": "v"}, "the path is empty"),
        ("other/integrations/x", {"t": "v"}, "outside Baton's prefix"),
        ("baton/../etc", {"t": "v"}, "not allowed"),
        ("baton/x//y", {"t": "v"}, "not allowed"),
        ("baton/x/y", ["not", "a", "mapping"], "mapping of strings"),
        ("baton/x/y", {}, "mapping of strings"),
        ("baton/x/y", {"t": 42}, "key 't' is a int"),
        ("baton/x/y", {"": "v"}, "non-empty string"),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(custody: Custody, path: str, secret: object, message: str) -> None:
    before = custody.client.secrets.kv.v2.list_secrets(path="baton", mount_point="secret")["data"]["keys"]
    with pytest.raises(CustodyInputError, match=message):
        custody.stage(path, secret, expect_version=0)  # type: ignore[arg-type]
    after = custody.client.secrets.kv.v2.list_secrets(path="baton", mount_point="secret")["data"]["keys"]
    assert before == after
    with pytest.raises(VaultNotFound):
        custody.describe("baton/x/y")


def test_no_secret_in_logs_or_exception_text(
    custody: Custody, openbao: OpenBaoDevServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    canaries = [_canary() for _ in range(3)]
    path = _path()
    texts: list[str] = []

    def attempt(fn: object, *args: object, **kwargs: object) -> None:
        try:
            fn(*args, **kwargs)  # type: ignore[operator]
        except VaultError as exc:
            texts.extend([str(exc), repr(exc), str(exc.__cause__), str(exc.__context__)])

    custody.promote(path, custody.stage(path, {"token": canaries[0]}, expect_version=0).version)
    attempt(custody.stage, path, {"token": canaries[1]}, expect_version=0)  # conflict
    custody.promote(path, custody.stage(path, {"token": canaries[1]}, expect_version=1).version)
    custody.rollback(path)
    attempt(custody.rollback, path)  # nothing to roll back
    attempt(custody.stage, "elsewhere/" + path, {"token": canaries[2]}, expect_version=0)
    attempt(custody.stage, path, {"token": canaries[2], "n": 1}, expect_version=2)  # type: ignore[dict-item]
    attempt(Custody(custody.client, prefix="other").stage, "other/x", {"token": canaries[2]}, expect_version=0)
    attempt(connect, VaultAuth(addr=openbao.addr, role_id="r", secret_id=SecretStr(canaries[2])))
    read = custody.read_current(path)
    texts.append(repr(read))
    assert len(texts) >= 10
    texts.extend(r.getMessage() for r in caplog.records)
    texts.append(caplog.text)
    for canary in canaries:
        assert not any(canary in t for t in texts), f"a canary leaked into {[t for t in texts if canary in t][:1]}"
