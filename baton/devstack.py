"""The embedded stack on loopback: an OpenBao dev server and a local Prefect server (SQLite).

Used by the demo and by the tests' session fixtures. Each server is a child process started with
its own state directory, waited on until healthy, and stopped by its pid (SIGINT, then SIGKILL).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from clients.prefect_api import prefect_http


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _bin(name: str) -> str:
    """A console script from this virtualenv, else from PATH."""
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} is not installed; run the README's set-up command (./run test) first")
    return found


def _stop(proc: subprocess.Popen[bytes] | None, timeout: float = 15) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=timeout)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=5)


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float, ok: tuple[int, ...] = (200,)) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited with code {proc.returncode}; see {log}:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(url, timeout=2).status_code in ok:
                return time.monotonic() - start
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not healthy after {timeout:.0f} s; see {log}")


@dataclass
class OpenBaoDevServer:
    """``bao server -dev`` on a free loopback port, with a random root token (in memory only)."""

    workdir: Path
    port: int = 0
    root_token: str = field(default_factory=lambda: "dev-" + secrets.token_urlsafe(18))
    proc: subprocess.Popen[bytes] | None = None
    startup_seconds: float = 0.0

    @property
    def addr(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> OpenBaoDevServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        log = self.workdir / "openbao.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
        env["HOME"] = str(self.workdir)
        self.proc = subprocess.Popen(
            [
                _bin("bao"), "server", "-dev",
                f"-dev-root-token-id={self.root_token}",
                f"-dev-listen-address=127.0.0.1:{self.port}",
                "-dev-no-store-token",
            ],
            stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )  # fmt: skip
        self.startup_seconds = _wait(f"{self.addr}/v1/sys/health", self.proc, log, timeout)
        return self

    def stop(self) -> None:
        _stop(self.proc)


def new_auth_string() -> str:
    """A random ``user:password`` for a Prefect server's HTTP Basic authentication."""
    return "baton:" + secrets.token_urlsafe(24)


@dataclass
class PrefectServer:
    """``prefect server start`` on SQLite in its own PREFECT_HOME, on a free loopback port, with its HTTP Basic
    authentication on (``PREFECT_SERVER_API_AUTH_STRING``, random unless given): every request but the health
    probe needs ``auth_string``, which ``client_env()`` hands to the processes that talk to it (as
    ``PREFECT_API_AUTH_STRING``, which Prefect's own client and ``clients.prefect_api`` both read).
    ``auth_string=None`` runs it open (only to show what that allows). For a person at its UI, the auth string
    is also in ``login_file`` (mode 0600, in the server's home), never printed or logged."""

    home: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    startup_seconds: float = 0.0
    extra_env: dict[str, str] = field(default_factory=dict)
    auth_string: str | None = field(default_factory=new_auth_string, repr=False)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database(self) -> Path:
        return self.home / "prefect.db"

    @property
    def login_file(self) -> Path:
        """What to type into the Prefect UI's login page (the auth string), readable by its owner only."""
        return self.home / "ui-login"

    def _write_login_file(self) -> None:
        self.login_file.unlink(missing_ok=True)
        if self.auth_string:
            fd = os.open(self.login_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(self.auth_string + "\n")

    def client_env(self) -> dict[str, str]:
        """Environment for processes that talk to this server (flows, workers, the gateway, the CLI)."""
        env = {
            "PREFECT_API_URL": self.api_url,
            "PREFECT_HOME": str(self.home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_LOCAL_STORAGE_PATH": str(self.home / "storage"),
        }
        if self.auth_string:
            env["PREFECT_API_AUTH_STRING"] = self.auth_string
        return env

    def http(self, timeout: float = 10.0) -> httpx.Client:
        """An httpx client for this server's REST API, authenticated (``clients.prefect_api.prefect_http``)."""
        return prefect_http(self.api_url, timeout=timeout, auth_string=self.auth_string or "")

    def start(self, timeout: float = 90) -> PrefectServer:
        self.home.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        self._write_login_file()
        log = self.home / "server.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        env.update(self.client_env())
        if self.auth_string:
            env["PREFECT_SERVER_API_AUTH_STRING"] = self.auth_string
        env.update(
            PREFECT_API_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{self.database}",
            PREFECT_UI_API_URL=self.api_url,
            PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT="false",
            PREFECT_LOGGING_LEVEL="WARNING",
            # SQLite under many writers (flows, gateway, UI) on 2 cores: wait for locks instead of a 503
            PREFECT_SERVER_DATABASE_TIMEOUT="60",
            PREFECT_SERVER_DATABASE_CONNECTION_TIMEOUT="30",
        )
        env.update(self.extra_env)
        self.proc = subprocess.Popen(
            [_bin("prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )  # fmt: skip
        self.startup_seconds = _wait(f"{self.api_url}/health", self.proc, log, timeout)
        return self

    def stop(self) -> None:
        _stop(self.proc, timeout=20)
        self.login_file.unlink(missing_ok=True)

    def restart(self, timeout: float = 90) -> PrefectServer:
        """Stop, then start again on the same port, home and database (what was stored stays)."""
        self.stop()
        log = self.home / "server.log"
        if log.exists():
            log.rename(log.with_name(f"server-{time.time_ns()}.log"))  # start() writes a fresh one
        return self.start(timeout=timeout)
