"""Find and watch step-probe runs through Prefect's REST API (for tests that start their own runs).

``harness.wait_paused`` takes the newest paused run of a flow; a run left PAUSED by an earlier test
that was killed would be found too. These helpers pick a run by its parameters and creation time.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import httpx

from clients.prefect_api import prefect_http

FINAL = ("COMPLETED", "FAILED", "CANCELLED", "CRASHED")


def _client(api_url: str) -> httpx.Client:
    return prefect_http(api_url)


def run(api_url: str, run_id: str) -> dict[str, Any]:
    """``GET /api/flow_runs/<id>``."""
    with _client(api_url) as http:
        reply = http.get(f"flow_runs/{run_id}")
        reply.raise_for_status()
        data: dict[str, Any] = reply.json()
        return data


def state_of(api_url: str, run_id: str) -> tuple[str, str, str]:
    """(type, name, pause key or '') of the run's current state."""
    state = run(api_url, run_id).get("state") or {}
    details = state.get("state_details") or {}
    return str(state.get("type", "")), str(state.get("name", "")), str(details.get("pause_key") or "")


def _schema_stored(http: httpx.Client, run_id: str, state: dict[str, Any]) -> bool:
    key = f"{state['name'].lower()}-{state['state_details']['pause_key']}-schema"
    return http.get(f"flow_runs/{run_id}/input/{key}").status_code == 200


def find_paused(
    api_url: str, flow_name: str, *, since: dt.datetime, where: dict[str, Any], timeout: float = 60
) -> dict[str, Any]:
    """The run of *flow_name* created after *since* whose parameters include *where*, once it is PAUSED
    and its input schema is stored (a resume before that is refused by Prefect)."""
    deadline = time.monotonic() + timeout
    with _client(api_url) as http:
        while time.monotonic() < deadline:
            runs = http.post(
                "flow_runs/filter",
                json={"flows": {"name": {"any_": [flow_name]}}, "flow_runs": {"state": {"type": {"any_": ["PAUSED"]}}},
                      "sort": "EXPECTED_START_TIME_DESC", "limit": 20},
            ).json()  # fmt: skip
            for found in runs:
                params = found.get("parameters") or {}
                params = {**params, **(params.get("request") or {})}  # a flow's one request model
                if dt.datetime.fromisoformat(found["created"]) < since:
                    continue
                if all(params.get(k) == v for k, v in where.items()) and _schema_stored(
                    http, found["id"], found["state"]
                ):
                    return dict(found)
            time.sleep(0.2)
    raise AssertionError(f"no paused run of {flow_name} with {where} within {timeout} s")


def wait_for(api_url: str, run_id: str, done: Callable[[dict[str, Any]], bool], timeout: float = 30) -> dict[str, Any]:
    """The run once *done(run)* holds."""
    deadline = time.monotonic() + timeout
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        last = run(api_url, run_id)
        if done(last):
            return last
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not get there within {timeout} s; last state: {last.get('state')}")


def wait_paused_at(api_url: str, run_id: str, key: str, timeout: float = 30) -> dict[str, Any]:
    """The run once it waits at pause key *key* with its input schema stored."""

    def ready(found: dict[str, Any]) -> bool:
        state = found.get("state") or {}
        if state.get("type") != "PAUSED" or (state.get("state_details") or {}).get("pause_key") != key:
            return False
        with _client(api_url) as http:
            return _schema_stored(http, run_id, state)

    return wait_for(api_url, run_id, ready, timeout)


def wait_final(api_url: str, run_id: str, timeout: float = 30) -> dict[str, Any]:
    return wait_for(api_url, run_id, lambda found: (found.get("state") or {}).get("type") in FINAL, timeout)


def answers(api_url: str, run: dict[str, Any], step: str = "probe") -> tuple[int, int]:
    """(answers stored, answers recorded) for the step *run* waited at: its response input (0 or 1) and
    its ``human-step-<step>`` artifacts (the flow writes one when it accepts an answer)."""
    response = run["state"]["state_details"]["run_input_keyset"]["response"]
    with _client(api_url) as http:
        stored = http.get(f"flow_runs/{run['id']}/input/{response}").status_code == 200
        recorded = http.post(
            "artifacts/filter",
            json={"artifacts": {"key": {"any_": [f"human-step-{step}"]}}, "flow_runs": {"id": {"any_": [run["id"]]}}},
        ).json()
    return int(stored), len(recorded)


def cancel_if_open(api_url: str, run_id: str) -> None:
    """End a run a failed test left open (PAUSED, RUNNING), so later tests do not find it."""
    if state_of(api_url, run_id)[0] in FINAL:
        return
    with _client(api_url) as http:
        http.post(
            f"flow_runs/{run_id}/set_state",
            json={"state": {"type": "CANCELLED", "message": "ended by the test's teardown"}, "force": True},
        )


def thread_texts(messages: list[dict[str, Any]]) -> list[str]:
    """The text of each message (fallback text and every block's text), for searching a Slack thread."""
    texts = []
    for message in messages:
        parts = [str(message.get("text") or "")]
        for block in message.get("blocks") or []:
            text = block.get("text")
            if isinstance(text, dict):
                parts.append(str(text.get("text") or ""))
        texts.append(" ".join(parts))
    return texts
