"""Session fixtures for the real parts: an OpenBao dev server and a local Prefect server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import hvac
import pytest
from prefect.settings import (
    PREFECT_API_AUTH_STRING,
    PREFECT_API_URL,
    PREFECT_LOCAL_STORAGE_PATH,
    temporary_settings,
)

from baton.devstack import OpenBaoDevServer, PrefectServer
from deployments.vault.setup import setup_vault


@pytest.fixture(scope="session")
def openbao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenBaoDevServer]:
    """A real OpenBao dev server on a free loopback port, set up for Baton (KV v2, policy, AppRole)."""
    server = OpenBaoDevServer(tmp_path_factory.mktemp("openbao")).start()
    try:
        setup_vault(hvac.Client(url=server.addr, token=server.root_token))
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    """A real Prefect server on SQLite, once per session, its HTTP Basic authentication on; this process's
    Prefect client (and ``clients.prefect_api``, through PREFECT_API_AUTH_STRING) points at it, authenticated."""
    server = PrefectServer(Path(tmp_path_factory.mktemp("prefect"))).start()
    saved = {k: os.environ.get(k) for k in server.client_env()}
    os.environ.update(server.client_env())
    try:
        with temporary_settings(
            updates={
                PREFECT_API_URL: server.api_url,
                PREFECT_API_AUTH_STRING: server.auth_string,
                PREFECT_LOCAL_STORAGE_PATH: str(server.home / "storage"),
            }
        ):
            yield server
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()
