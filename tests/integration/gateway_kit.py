"""Helpers for the gateway abuse and fuzz tests: in-process gateways built from the session's real parts,
Slack-signed requests made by hand, and one paused approval run that nothing may resume."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.testclient import TestClient

from clients.factory import custody_from, slack_from
from clients.humanstep import ButtonValue
from clients.humanstep.keys import record_key
from clients.prefect_api import PrefectAPI
from gateway.app import build, create_app
from tests.flows import probe_runs
from tests.harness import FlowProcess, settings_from

ALICE, BOB, CAROL = "U0ALICE01", "U0BOB0001", "U0CAROL01"  # the scenario's Slack users; bob and carol approve
HOOK_SECRET = "hook-secret-for-tests-0001"  # baton.stackenv's defaults
OKTA_SECRET = "okta-hook-secret-for-tests-0001"


def gateway_client(env: dict[str, str]) -> TestClient:
    """A gateway app of its own (its own build(): another replica) over *env*, called in-process.
    TestClient re-raises an exception the app did not turn into a response: a 500 fails the test."""
    settings = settings_from(env)
    return TestClient(create_app(build(settings, custody_from(settings), slack_from(settings))))


def slack_headers(secret: str, body: bytes, *, stamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if stamp is None else stamp)
    mac = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": "v0=" + mac,
    }


def form(payload: Any) -> bytes:
    return urlencode({"payload": payload if isinstance(payload, str) else json.dumps(payload)}).encode()


def click(
    user: str, action_id: str, run: str, *, key: str = "probe", kind: str = "approval", req: str = "bob@acme.example",
    note: str | None = None, message_ts: str = "",
) -> dict[str, Any]:  # fmt: skip
    """A block_actions payload as Slack sends it for one of a step's buttons (clicked on the message
    *message_ts*: the step's own message, or another one)."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "trigger_id": uuid.uuid4().hex,  # as in Slack's payloads: no two clicks have the same body
        "user": {"id": user, "username": "someone"},
        "actions": [{"action_id": action_id, "value": ButtonValue(run, key, kind, req).encode()}],  # type: ignore[arg-type]
        "container": {"type": "message", "message_ts": message_ts, "channel_id": "C0HANDOVER"},
        "message": {"blocks": []},
    }
    if note is not None:
        payload["state"] = {"values": {"baton_note": {"note": {"type": "plain_text_input", "value": note}}}}
    return payload


def hook_headers(body: bytes) -> dict[str, str]:
    mac = hmac.new(HOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Baton-Signature": "sha256=" + mac}


@dataclass
class PausedApproval:
    run_id: str
    api: str
    process: FlowProcess

    @property
    def message_ts(self) -> str:
        """The ts of the step's own Slack message (from the step's record in the run's input store)."""
        record = PrefectAPI(self.api).run_input(self.run_id, record_key("probe"))
        return str((record or {}).get("ts", ""))

    def still_waiting(self, key: str = "probe") -> bool:
        kind, _name, pause_key = probe_runs.state_of(self.api, self.run_id)
        return (kind, pause_key) == ("PAUSED", key)


@contextmanager
def paused_approval(env: dict[str, str], api: str) -> Iterator[PausedApproval]:
    """An approval step requested by bob, paused in a flow process of its own; cancelled afterwards."""
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    process = FlowProcess("step_probe.py", env, "kind=approval", "requested_by=bob@acme.example")
    run_id = ""
    try:
        found = probe_runs.find_paused(api, "step-probe", since=since, where={"kind": "approval"})
        run_id = found["id"]
        yield PausedApproval(run_id, api, process)
    finally:
        process.kill()
        if run_id:
            probe_runs.cancel_if_open(api, run_id)
