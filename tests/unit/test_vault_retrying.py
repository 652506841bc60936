"""clients.vault.retrying: a Vault read made by a human step rides out an unreachable or busy Vault."""

from __future__ import annotations

import pytest

from clients.vault import VaultBusy, VaultNotFound, VaultUnreachable, retrying


def _flaky(failures: list[Exception]) -> tuple[list[int], object]:
    calls: list[int] = []

    def call() -> str:
        calls.append(1)
        if failures:
            raise failures.pop(0)
        return "key"

    return calls, call


def test_unreachable_then_busy_then_the_answer() -> None:
    calls, call = _flaky([VaultUnreachable("down"), VaultBusy("sealed")])
    assert retrying(call, delays=(0, 0, 0)) == "key"  # type: ignore[arg-type]
    assert len(calls) == 3


def test_it_gives_up_with_the_last_error_after_its_delays() -> None:
    calls, call = _flaky([VaultBusy("sealed")] * 5)
    with pytest.raises(VaultBusy):
        retrying(call, delays=(0, 0))  # type: ignore[arg-type]
    assert len(calls) == 3


def test_other_errors_are_not_retried() -> None:
    calls, call = _flaky([VaultNotFound("no such path")])
    with pytest.raises(VaultNotFound):
        retrying(call, delays=(0, 0))  # type: ignore[arg-type]
    assert len(calls) == 1


def test_advised_keeps_the_type_the_place_and_vaults_words() -> None:
    exc = VaultBusy("Vault is busy or sealed; try again shortly", method="promote", path="baton/x/y",
                    vault_errors=["Vault is sealed"])  # fmt: skip
    advised = exc.advised("retry the run once Vault answers")
    assert type(advised) is VaultBusy and advised.retryable
    assert (advised.method, advised.path, advised.vault_errors) == ("promote", "baton/x/y", ["Vault is sealed"])
    assert str(advised) == ("promote baton/x/y: Vault is busy or sealed; try again shortly. retry the run once Vault "
                            "answers. Vault said: Vault is sealed.")  # fmt: skip
