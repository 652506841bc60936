"""Salesforce stand-in in a real browser: log in on its login page, click Allow on its consent page,
land on a local callback server, then fetch tokens with authlib (PKCE)."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client

from sandbox.salesforce import org_of
from sandbox.server import Sandbox

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium"),
]
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class _Callback(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        body = b"<!doctype html><title>Baton</title><p id=done>You can close this window.</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def callback_server() -> Iterator[HTTPServer]:
    _Callback.hits = []
    server = HTTPServer(("127.0.0.1", 0), _Callback)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_login_and_allow_in_chromium(fresh_sandbox: Sandbox, callback_server: HTTPServer) -> None:
    from playwright.sync_api import sync_playwright

    base = fresh_sandbox.urls["salesforce"]
    redirect_uri = f"http://127.0.0.1:{callback_server.server_address[1]}/oauth/salesforce/callback"
    client = OAuth2Client(
        "baton-salesforce-client-0001",
        "baton-salesforce-secret-0001",
        redirect_uri=redirect_uri,
        scope="api refresh_token",
        code_challenge_method="S256",
        verify=ssl.create_default_context(cafile=fresh_sandbox.ca_file),
    )
    verifier = generate_token(48)
    url, state = client.create_authorization_url(base + "/services/oauth2/authorize", code_verifier=verifier)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = browser.new_context(ignore_https_errors=True)
            page = context.new_page()
            page.goto(url)
            page.fill("#username", "carol@acme.example")
            page.fill("#password", "carol-sf-Passw0rd")
            page.click("#Login")
            page.wait_for_selector("#oaapprove")
            assert page.inner_text("#app_name").startswith("Baton")
            assert page.inner_text("#username") == "carol@acme.example"
            page.click("#oaapprove")
            page.wait_for_url(redirect_uri + "?*")
            assert page.inner_text("#done")
            landed = page.url
        finally:
            browser.close()

    callbacks = [h for h in _Callback.hits if h.startswith("/oauth/salesforce/callback")]  # not /favicon.ico
    assert len(callbacks) == 1 and f"state={state}" in callbacks[0]
    token = client.fetch_token(base + "/services/oauth2/token", authorization_response=landed, code_verifier=verifier)
    assert token["access_token"] and token["refresh_token"] and token["instance_url"] == base
    org = org_of(fresh_sandbox.world)
    assert org.authorized_user("Baton")["Username"] == "carol@acme.example"  # type: ignore[index]
    assert org.whoami(token["access_token"])["Username"] == "carol@acme.example"  # type: ignore[index]
    client.close()
