"""Prefect answers 503 while its SQLite is busy: the gateway's Prefect client retries those, and only those."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from baton.devstack import free_port
from clients.prefect_api import InvalidRunId, PrefectAPI, PrefectUnreachable, prefect_http, run_path


class _Flaky(BaseHTTPRequestHandler):
    script: list[int] = []
    seen = 0

    def do_POST(self) -> None:
        type(self).seen += 1
        status = type(self).script.pop(0) if type(self).script else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def flaky() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api"
    server.shutdown()


def test_busy_answers_are_retried(flaky: str) -> None:
    _Flaky.script, _Flaky.seen = [503, 503], 0
    assert prefect_http(flaky).post("flow_runs/x/resume", json={}).status_code == 200
    assert _Flaky.seen == 3


def test_other_errors_are_not_retried(flaky: str) -> None:
    _Flaky.script, _Flaky.seen = [409], 0
    assert prefect_http(flaky).post("deployments/x/create_flow_run", json={}).status_code == 409
    assert _Flaky.seen == 1


def test_gives_up_after_five_attempts(flaky: str) -> None:
    _Flaky.script, _Flaky.seen = [503] * 9, 0
    assert prefect_http(flaky).post("flow_runs/x/resume", json={}).status_code == 503
    assert _Flaky.seen == 5


@pytest.mark.parametrize(
    "run_id",
    ["../deployments/filter", "../../flow_runs/filter", "x", "", "0" * 36,
     "00000000-0000-0000-0000-000000000000/resume", "00000000-0000-0000-0000-00000000000\n"],
)  # fmt: skip
def test_a_run_id_that_is_not_a_uuid_never_becomes_a_url(run_id: str) -> None:
    """No call at all (the address is a closed port: a call would raise PrefectUnreachable)."""
    api = PrefectAPI(f"http://127.0.0.1:{free_port()}/api")
    assert api.flow_run(run_id) is None
    with pytest.raises(InvalidRunId, match="not a UUID"):
        api.resume(run_id, {"outcome": "done"})
    with pytest.raises(InvalidRunId):
        api.run_input(run_id, "key")


def test_run_paths_quote_what_follows_the_id() -> None:
    run = "0b7c6f1e-2d3a-4b5c-8d9e-0f1a2b3c4d5e"
    assert run_path(run, "input", "../../deployments") == f"flow_runs/{run}/input/..%2F..%2Fdeployments"
    with pytest.raises(PrefectUnreachable):
        PrefectAPI(f"http://127.0.0.1:{free_port()}/api").flow_run(run)  # a UUID is asked for
