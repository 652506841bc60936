"""Start every stand-in on loopback, each on its own port (the vendors have their own hosts).

``Sandbox`` runs them in a background thread (tests, the demo); ``python -m sandbox`` runs them in
the foreground. Ports are bound first, so every base URL is known before the state is seeded.
"""

from __future__ import annotations

import asyncio
import importlib
import socket
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from sandbox.faults import FaultRule
from sandbox.httpkit import FaultMiddleware
from sandbox.scenario import fill_urls, load_scenario
from sandbox.tls import CertFiles, make_self_signed
from sandbox.world import World


@dataclass(frozen=True)
class Host:
    """One listening stand-in: the modules that give it routes; the first one owns its error shapes."""

    name: str
    modules: tuple[str, ...]
    tls: bool = False


HOSTS: tuple[Host, ...] = (
    Host("salesforce", ("sandbox.salesforce", "sandbox.connectors.sf_package"), tls=True),
    Host("jira", ("sandbox.jira", "sandbox.connectors.jira_app")),
    Host("jira_server", ("sandbox.jira.server",)),
    Host("intercom", ("sandbox.intercom",)),
    Host("jotform", ("sandbox.jotform",)),
    Host("slack", ("sandbox.slack",)),
    Host("admin", ("sandbox.admin",)),
)
# Seeding order: Salesforce first (others register connected apps and OAuth tokens with it).
SEED_ORDER = (
    "sandbox.salesforce",
    "sandbox.jira",
    "sandbox.jira.server",
    "sandbox.intercom",
    "sandbox.jotform",
    "sandbox.slack",
    "sandbox.connectors.jira_app",
    "sandbox.admin",
)


def _bind(host: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class Sandbox:
    """All stand-ins, with one shared World. Use as a context manager or start()/stop()."""

    def __init__(
        self,
        scenario: dict[str, Any] | str | Path | None = None,
        *,
        bind: str = "127.0.0.1",
        cert_dir: Path | None = None,
    ) -> None:
        self.scenario = scenario if isinstance(scenario, dict) else load_scenario(scenario)
        self.bind = bind
        self.world = World()
        self._cert_dir = cert_dir or Path(tempfile.mkdtemp(prefix="baton-sandbox-tls-"))
        self.certs: CertFiles | None = None
        self._sockets: dict[str, socket.socket] = {}
        self._servers: list[uvicorn.Server] = []
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    # -- set-up ---------------------------------------------------------------------------
    @property
    def urls(self) -> dict[str, str]:
        return dict(self.world.urls)

    @property
    def ca_file(self) -> str:
        assert self.certs is not None, "start the sandbox first"
        return str(self.certs.cert)

    def _prepare(self) -> list[uvicorn.Server]:
        self.certs = make_self_signed(self._cert_dir, self.bind)
        self.world.ca_file = str(self.certs.cert)
        for host in HOSTS:
            sock = _bind(self.bind)
            self._sockets[host.name] = sock
            scheme = "https" if host.tls else "http"
            self.world.urls[host.name] = f"{scheme}://{self.bind}:{sock.getsockname()[1]}"
        scenario = fill_urls(self.scenario, self.world.urls)
        modules = {name: importlib.import_module(name) for host in HOSTS for name in host.modules}
        for name in SEED_ORDER:
            seed = getattr(modules[name], "seed", None)
            if seed is not None:
                seed(self.world, scenario)
        for fault in scenario.get("faults") or []:
            self.world.faults.add(FaultRule.from_dict(fault))
        servers = []
        for host in HOSTS:
            servers.append(self._server_for(host, [modules[m] for m in host.modules]))
        return servers

    def _server_for(self, host: Host, modules: list[ModuleType]) -> uvicorn.Server:
        routes: list[BaseRoute] = []
        for module in modules:
            routes.extend(module.routes(self.world))
        owner = modules[0]
        inner = Starlette(routes=routes, exception_handlers=getattr(owner, "EXCEPTION_HANDLERS", None))
        # Outermost, so that a "drop" fault reaches uvicorn's own transport.
        app = FaultMiddleware(inner, world=self.world, host=host.name, responder=owner.fault_response)
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
            ssl_certfile=str(self.certs.cert) if host.tls and self.certs else None,
            ssl_keyfile=str(self.certs.key) if host.tls and self.certs else None,
        )
        return uvicorn.Server(config)

    # -- running --------------------------------------------------------------------------
    async def serve(self) -> None:
        """Serve until stop() (or Ctrl-C in the foreground)."""
        self._servers = self._prepare() if not self._servers else self._servers
        tasks = [
            asyncio.create_task(srv.serve(sockets=[self._sockets[h.name]]))
            for srv, h in zip(self._servers, HOSTS, strict=True)
        ]
        while not all(s.started for s in self._servers):
            if any(t.done() for t in tasks):
                break
            await asyncio.sleep(0.01)
        self._ready.set()
        await asyncio.gather(*tasks)

    def start(self, timeout: float = 15) -> Sandbox:
        self._servers = self._prepare()

        def run() -> None:
            try:
                asyncio.run(self.serve())
            except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
                self._error = exc
                self._ready.set()

        self._thread = threading.Thread(target=run, name="baton-sandbox", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout) or self._error:
            raise RuntimeError(f"the sandbox did not start: {self._error!r}")
        return self

    def stop(self) -> None:
        for srv in self._servers:
            srv.should_exit = True
        if self._thread:
            self._thread.join(timeout=10)
        for sock in self._sockets.values():
            sock.close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
