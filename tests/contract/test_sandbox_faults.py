"""The sandbox's fault rules used by the storm tests: budgets, ``after``, lost answers, firings counted, and a
call made before its Retry-After noted as early."""

from __future__ import annotations

import time

import httpx
import pytest

from sandbox.faults import FaultRule, FaultSpecError
from sandbox.server import Sandbox


def test_a_call_before_its_retry_after_is_noted_early(fresh_sandbox: Sandbox) -> None:
    url = fresh_sandbox.urls["jotform"] + "/user"
    fresh_sandbox.world.faults.add(FaultRule(host="jotform", route="^/user$", kind="ratelimit", count=1, retry_after=1))
    assert httpx.get(url).status_code == 429
    httpx.get(url)  # at once: too early
    assert fresh_sandbox.world.faults.early == ["jotform GET /user"]
    time.sleep(1.05)
    httpx.get(url)
    assert len(fresh_sandbox.world.faults.early) == 1, "after Retry-After: not early"


def test_a_fraction_with_a_budget_and_after(fresh_sandbox: Sandbox) -> None:
    rule = FaultRule.from_dict({"host": "jotform", "route": "^/user$", "kind": "unavailable", "fraction": 1,
                                "count": 2, "after": 1})  # fmt: skip
    fresh_sandbox.world.faults.add(rule)
    codes = [httpx.get(fresh_sandbox.urls["jotform"] + "/user").status_code for _ in range(4)]
    assert codes[0] != 503 and codes[1:3] == [503, 503] and codes[3] != 503
    assert fresh_sandbox.world.faults.fired_counts() == {"jotform unavailable": 2}
    with pytest.raises(FaultSpecError, match="give count"):
        FaultRule.from_dict({"host": "jotform", "kind": "drop"})
    with pytest.raises(FaultSpecError, match="after must be"):
        FaultRule.from_dict({"host": "jotform", "kind": "drop", "count": 1, "after": -1})


def test_a_lost_answer_is_handled_but_never_seen(fresh_sandbox: Sandbox) -> None:
    """``lost``: the change is made, the connection closes before the answer."""
    base = fresh_sandbox.urls["jotform"]
    form = "241118435271045"
    fresh_sandbox.world.faults.add(FaultRule(host="jotform", route="/webhooks$", kind="lost", count=1, method="POST"))
    with pytest.raises(httpx.HTTPError):
        httpx.post(f"{base}/form/{form}/webhooks", data={"webhookURL": "https://hooks.example/lost"},
                   headers={"APIKEY": "jf-apikey-acme-0001"})  # fmt: skip
    hooks = httpx.get(f"{base}/form/{form}/webhooks", headers={"APIKEY": "jf-apikey-acme-0001"}).json()["content"]
    assert "https://hooks.example/lost" in hooks.values()
