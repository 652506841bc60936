"""Prefect's REST API over httpx, for everything outside a flow run: the gateway, the operators' CLI, the demo
and the tests. No Prefect import, so a tool that uses it starts fast.

One back-off policy for a busy server (502/503/504, e.g. SQLite locked under load: Prefect rolls such a
request back, so sending it again is safe) and one way to authenticate (HTTP Basic,
``BATON_PREFECT_API_AUTH_STRING`` or Prefect's own ``PREFECT_API_AUTH_STRING``, as ``user:password``).
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from core import redaction
from core.errors import BatonError

BUSY = (502, 503, 504)
ATTEMPTS = 5  # a busy server is tried this many times, 0.2 s, 0.4 s, 0.8 s, 1.6 s apart


class PrefectAPIError(BatonError):
    """Prefect refused or failed a call; the message carries Prefect's reason."""


class PrefectUnreachable(PrefectAPIError):
    """No answer from Prefect at all (connection refused, timeout)."""


class PrefectUnauthorized(PrefectAPIError):
    """Prefect answered 401: no or wrong HTTP Basic credentials for a server with its auth string set."""


UNAUTHORIZED_HINT = (
    "set BATON_PREFECT_API_AUTH_STRING (or PREFECT_API_AUTH_STRING) to the server's PREFECT_SERVER_API_AUTH_STRING"
)


class NotPaused(PrefectAPIError):
    """Prefect refused a resume because the run is not waiting (answered already, or finished)."""


class InvalidRunId(PrefectAPIError, ValueError):
    """A flow run id that is not a UUID: refused before any call, since it would become part of a URL path."""


_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def is_run_id(value: object) -> bool:
    """True when *value* is a flow run id as Prefect writes them (a UUID, 8-4-4-4-12 hex)."""
    return isinstance(value, str) and _UUID.fullmatch(value) is not None


def run_path(run_id: str, *rest: str) -> str:
    """``flow_runs/<id>[/<rest>...]`` for a UUID *run_id* (InvalidRunId otherwise); *rest* is percent-quoted."""
    if not is_run_id(run_id):
        raise InvalidRunId("the flow run id is not a UUID (8-4-4-4-12 hex digits); check the run id")
    return "/".join(["flow_runs", run_id, *(quote(part, safe="") for part in rest)])


@dataclass(frozen=True)
class RunState:
    """A flow run as Prefect describes it (``raw`` is the whole JSON)."""

    id: str
    state_type: str
    state_name: str
    pause_key: str | None
    parameters: dict[str, Any]
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def paused(self) -> bool:
        return self.state_type == "PAUSED"

    @property
    def flow_id(self) -> str:
        return str(self.raw.get("flow_id", ""))

    @property
    def details(self) -> dict[str, Any]:
        state = self.raw.get("state") or {}
        details = state.get("state_details") or {}
        return details if isinstance(details, dict) else {}

    @classmethod
    def of(cls, data: dict[str, Any]) -> RunState:
        state = data.get("state") or {}
        details = state.get("state_details") or {}
        return cls(
            id=str(data["id"]),
            state_type=str(state.get("type", "")),
            state_name=str(state.get("name", "")),
            pause_key=details.get("pause_key"),
            parameters=data.get("parameters") or {},
            raw=data,
        )


class BusyRetryTransport(httpx.HTTPTransport):
    """Retries a request Prefect answered 502/503/504, with back-off."""

    def __init__(self, attempts: int = ATTEMPTS, **kwargs: Any) -> None:
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


def auth_string_from_env() -> str | None:
    """``BATON_PREFECT_API_AUTH_STRING``, else Prefect's own ``PREFECT_API_AUTH_STRING``."""
    return os.environ.get("BATON_PREFECT_API_AUTH_STRING") or os.environ.get("PREFECT_API_AUTH_STRING") or None


def prefect_http(api_url: str, *, timeout: float = 10.0, auth_string: str | None = None) -> httpx.Client:
    """An httpx client for Prefect's REST API that rides out a busy server and authenticates if asked to
    (*auth_string* ``user:password``; default: from the environment)."""
    auth_string = auth_string if auth_string is not None else auth_string_from_env()
    auth: httpx.BasicAuth | None = None
    if auth_string and ":" in auth_string:
        user, password = auth_string.split(":", 1)
        redaction.register(auth_string, password)
        auth = httpx.BasicAuth(user, password)
    return httpx.Client(base_url=api_url.rstrip("/") + "/", timeout=timeout, auth=auth, transport=BusyRetryTransport())


class PrefectAPI:
    """The calls Baton makes to Prefect from outside a flow run."""

    def __init__(self, api_url: str, *, auth_string: str | None = None, timeout: float = 10.0) -> None:
        self.api_url = api_url.rstrip("/")
        self.http = prefect_http(api_url, timeout=timeout, auth_string=auth_string)

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise PrefectUnreachable(
                f"cannot reach Prefect at {self.api_url} ({exc.__class__.__name__}); check BATON_PREFECT_API_URL"
            ) from None

    def _json(self, reply: httpx.Response, what: str) -> Any:
        self._authorized(reply, what)
        if reply.status_code >= 400:
            raise PrefectAPIError(f"Prefect answered HTTP {reply.status_code} to {what}: {reply.text[:300]}")
        return reply.json()

    @staticmethod
    def _authorized(reply: httpx.Response, what: str) -> None:
        if reply.status_code == 401:
            raise PrefectUnauthorized(f"Prefect refused Baton's credentials (HTTP 401) to {what}: {UNAUTHORIZED_HINT}")

    def flow_run(self, run_id: str) -> RunState | None:
        """``GET /flow_runs/<id>``; None when there is no such run (or the id is not a UUID: no call then)."""
        if not is_run_id(run_id):
            return None
        reply = self._call("GET", run_path(run_id))
        if reply.status_code in (404, 422):
            return None
        return RunState.of(self._json(reply, f"GET flow_runs/{run_id}"))

    def paused_runs(self, limit: int) -> list[RunState]:
        """``POST /flow_runs/filter``: runs in a PAUSED state (state names Paused and Suspended), oldest first."""
        body = {"flow_runs": {"state": {"type": {"any_": ["PAUSED"]}}}, "sort": "START_TIME_ASC", "limit": limit}
        runs = self._json(self._call("POST", "flow_runs/filter", json=body), "flow_runs/filter")
        return [RunState.of(run) for run in runs]

    def flow_names(self, flow_ids: set[str]) -> dict[str, str]:
        """``POST /flows/filter`` by id: flow id → flow name."""
        if not flow_ids:
            return {}
        body = {"flows": {"id": {"any_": sorted(flow_ids)}}, "limit": len(flow_ids)}
        flows = self._json(self._call("POST", "flows/filter", json=body), "flows/filter")
        return {str(f["id"]): str(f["name"]) for f in flows}

    def run_input(self, run_id: str, key: str) -> Any:
        """``GET /flow_runs/<id>/input/<key>``, JSON-decoded; None when the key is absent."""
        reply = self._call("GET", run_path(run_id, "input", key))
        self._authorized(reply, f"GET flow_runs/{run_id}/input/{key}")
        if reply.status_code >= 400:
            return None
        try:
            return json.loads(reply.text)
        except json.JSONDecodeError:
            return reply.text

    def resume_reply(self, run_id: str, run_input: dict[str, Any], *, wait_for_schema: float = 3.0) -> dict[str, Any]:
        """``POST /flow_runs/<id>/resume``; Prefect's OrchestrationResult (HTTP 200 even when refused: read
        ``status``). A refusal because the input schema is not stored yet (right after the pause) is retried
        for *wait_for_schema* seconds."""
        deadline = time.monotonic() + wait_for_schema
        while True:
            reply = self._call("POST", run_path(run_id, "resume"), json={"run_input": run_input})
            body: dict[str, Any] = self._json(reply, f"POST flow_runs/{run_id}/resume")
            reason = str((body.get("details") or {}).get("reason") or "")
            if body.get("status") != "ACCEPT" and "schema not found" in reason.lower() and time.monotonic() < deadline:
                time.sleep(0.1)
                continue
            return body

    def resume(self, run_id: str, run_input: dict[str, Any], *, wait_for_schema: float = 2.0) -> None:
        """Resume, or raise: NotPaused when Prefect says the run is not waiting, PrefectAPIError otherwise."""
        try:
            body = self.resume_reply(run_id, run_input, wait_for_schema=wait_for_schema)
        except (PrefectUnreachable, PrefectUnauthorized, InvalidRunId):
            raise
        except PrefectAPIError as exc:
            raise PrefectAPIError(f"Prefect refused to resume run {run_id}: {exc}") from None
        if body.get("status") == "ACCEPT":
            return
        reason = str((body.get("details") or {}).get("reason", "no reason given"))
        error = NotPaused if "not paused" in reason.lower() else PrefectAPIError
        raise error(f"Prefect did not resume run {run_id}: {body.get('status')} - {reason}")

    def deployment_id(self, name: str) -> str:
        """``GET /deployments/name/<flow>/<deployment>``."""
        reply = self._call("GET", "deployments/name/" + "/".join(quote(part, safe="") for part in name.split("/", 1)))
        if reply.status_code == 404:
            raise PrefectAPIError(f"no deployment named {name}; check the deployment name (prefect deploy --all)")
        return str(self._json(reply, f"GET deployments/name/{name}")["id"])

    def create_run(
        self, deployment_id: str, parameters: dict[str, Any], idempotency_key: str, *, tags: list[str] | None = None
    ) -> str:
        """``POST /deployments/<id>/create_flow_run``; the same idempotency key returns the same run."""
        reply = self._call(
            "POST",
            f"deployments/{quote(deployment_id, safe='')}/create_flow_run",
            json={"parameters": parameters, "idempotency_key": idempotency_key, "tags": tags or []},
        )
        if reply.status_code == 409:
            raise PrefectAPIError(f"Prefect refused the parameters: {reply.json().get('detail', reply.text)[:300]}")
        return str(self._json(reply, f"POST deployments/{deployment_id}/create_flow_run")["id"])

    def unfinished_runs(self, *, deployment_id: str | None = None, tags: list[str] | None = None) -> list[RunState]:
        """``POST /flow_runs/filter``: runs not finished (scheduled, pending, running, paused, cancelling) of a
        deployment, or carrying every one of *tags*."""
        live = ["SCHEDULED", "PENDING", "RUNNING", "PAUSED", "CANCELLING"]
        runs_filter: dict[str, Any] = {"state": {"type": {"any_": live}}}
        if tags:
            runs_filter["tags"] = {"all_": tags}
        body: dict[str, Any] = {"flow_runs": runs_filter, "limit": 200}
        if deployment_id:
            body["deployments"] = {"id": {"any_": [deployment_id]}}
        runs = self._json(self._call("POST", "flow_runs/filter", json=body), "flow_runs/filter")
        return [RunState.of(run) for run in runs]
