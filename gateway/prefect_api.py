"""The few Prefect API calls the gateway makes, over httpx (the server's REST API)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from baton.errors import BatonError


class PrefectAPIError(BatonError):
    """Prefect refused or failed a call; the message carries Prefect's reason."""


@dataclass(frozen=True)
class RunState:
    id: str
    state_type: str
    state_name: str
    pause_key: str | None
    parameters: dict[str, Any]

    @property
    def paused(self) -> bool:
        return self.state_type == "PAUSED"


SCHEMA_NOT_READY = "schema"
BUSY = (502, 503, 504)


class BusyRetryTransport(httpx.HTTPTransport):
    """Retries a request Prefect answered 502/503/504 (its SQLite busy under load), with back-off.
    Prefect rolls such a request back, so sending it again is safe."""

    def __init__(self, attempts: int = 5, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.attempts = attempts

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        for attempt in range(self.attempts):
            response = super().handle_request(request)
            if response.status_code not in BUSY or attempt == self.attempts - 1:
                return response
            response.close()
            time.sleep(0.2 * 2**attempt)
        raise AssertionError("unreachable")


def prefect_http(api_url: str, *, timeout: float = 10.0, auth_string: str | None = None) -> httpx.Client:
    """An httpx client for Prefect's REST API that rides out a busy server."""
    auth: httpx.BasicAuth | None = None
    if auth_string and ":" in auth_string:
        user, password = auth_string.split(":", 1)
        auth = httpx.BasicAuth(user, password)
    return httpx.Client(base_url=api_url.rstrip("/") + "/", timeout=timeout, auth=auth, transport=BusyRetryTransport())


class PrefectAPI:
    def __init__(self, api_url: str, *, auth_string: str | None = None, timeout: float = 5.0) -> None:
        self.http = prefect_http(api_url, timeout=timeout, auth_string=auth_string)

    def flow_run(self, run_id: str) -> RunState | None:
        """``GET /flow_runs/<id>``; None when there is no such run."""
        reply = self.http.get(f"flow_runs/{run_id}")
        if reply.status_code in (404, 422):
            return None
        reply.raise_for_status()
        data = reply.json()
        state = data.get("state") or {}
        details = state.get("state_details") or {}
        return RunState(
            id=str(data["id"]),
            state_type=str(state.get("type", "")),
            state_name=str(state.get("name", "")),
            pause_key=details.get("pause_key"),
            parameters=data.get("parameters") or {},
        )

    def resume(self, run_id: str, run_input: dict[str, Any], *, wait_for_schema: float = 2.0) -> None:
        """``POST /flow_runs/<id>/resume``. Prefect answers 200 even when it refuses: read ``status``.

        A refusal because the input schema is not stored yet (a resume right after the pause) is
        retried for *wait_for_schema* seconds.
        """
        deadline = time.monotonic() + wait_for_schema
        while True:
            reply = self.http.post(f"flow_runs/{run_id}/resume", json={"run_input": run_input})
            if reply.status_code >= 400:
                raise PrefectAPIError(f"Prefect refused to resume run {run_id}: HTTP {reply.status_code}")
            body = reply.json()
            if body.get("status") == "ACCEPT":
                return
            reason = str((body.get("details") or {}).get("reason", "no reason given"))
            if "schema" in reason.lower() and "not found" in reason.lower() and time.monotonic() < deadline:
                time.sleep(0.1)
                continue
            raise PrefectAPIError(f"Prefect did not resume run {run_id}: {body.get('status')} - {reason}")

    def deployment_id(self, name: str) -> str:
        """``GET /deployments/name/<flow>/<deployment>``."""
        reply = self.http.get(f"deployments/name/{name}")
        if reply.status_code == 404:
            raise PrefectAPIError(f"no deployment named {name}; check BATON_OFFBOARDING_DEPLOYMENT")
        reply.raise_for_status()
        return str(reply.json()["id"])

    def create_run(self, deployment_id: str, parameters: dict[str, Any], idempotency_key: str) -> str:
        """``POST /deployments/<id>/create_flow_run``; the same idempotency key returns the same run."""
        reply = self.http.post(
            f"deployments/{deployment_id}/create_flow_run",
            json={"parameters": parameters, "idempotency_key": idempotency_key, "tags": ["offboarding"]},
        )
        if reply.status_code == 409:
            raise PrefectAPIError(f"Prefect refused the parameters: {reply.json().get('detail', reply.text)[:300]}")
        reply.raise_for_status()
        return str(reply.json()["id"])
