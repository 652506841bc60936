"""Jotform stand-in: the API envelope (checked by hand against api-notes), and the Salesforce integration pages."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.faults import FaultRule
from sandbox.jotform.state import integration
from sandbox.server import Sandbox

KEY = "jf-apikey-acme-0001"
FORM = "241118435271045"
ENVELOPE = {"responseCode", "message", "content", "limit-left", "duration"}


def ok(resp: httpx.Response) -> Any:
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert ENVELOPE <= set(body), body
    assert body["responseCode"] == 200 and body["message"] == "success"
    assert isinstance(body["limit-left"], int) and re.fullmatch(r"\d+\.\d+ms", body["duration"])
    return body["content"]


def failed(resp: httpx.Response, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body: dict[str, Any] = resp.json()
    assert body["responseCode"] == status and body["content"] == "" and isinstance(body["message"], str)
    return body


@pytest.mark.parametrize("prefix", ["", "/v1"])
@pytest.mark.parametrize("how", ["APIKEY", "apiKey", "query"])
def test_user_with_every_key_style(sandbox: Sandbox, prefix: str, how: str) -> None:
    url = sandbox.urls["jotform"] + prefix + "/user"
    resp = httpx.get(url, params={"apiKey": KEY}) if how == "query" else httpx.get(url, headers={how: KEY})
    content = ok(resp)
    assert content["username"] == "acme_forms" and content["email"] == "it@acme.example"


@pytest.mark.parametrize("path", ["/user", "/v1/user", "/user/forms", f"/form/{FORM}/webhooks"])
@pytest.mark.parametrize("key", [None, "wrong-key"])
def test_unauthorized_exactly_as_jotform(sandbox: Sandbox, path: str, key: str | None) -> None:
    resp = httpx.get(sandbox.urls["jotform"] + path, headers={"APIKEY": key} if key else {})
    assert resp.status_code == 401
    shown = path.removeprefix("/v1")
    assert resp.json() == {"responseCode": 401, "message": f"You're not authorized to use ({shown}) ", "content": ""}


def test_forms_form_and_webhooks(sandbox: Sandbox) -> None:
    with httpx.Client(base_url=sandbox.urls["jotform"], headers={"APIKEY": KEY}) as jf:
        forms = ok(jf.get("/user/forms"))
        assert [f["id"] for f in forms] == [FORM] and forms[0]["title"] == "Contact Sales"
        assert ok(jf.get(f"/v1/form/{FORM}"))["count"] == "42"
        hooks = ok(jf.get(f"/form/{FORM}/webhooks"))
        assert hooks == {"0": "https://hooks.acme.example/jotform/contact-sales"}
        added = ok(jf.post(f"/form/{FORM}/webhooks", data={"webhookURL": "https://baton.acme.example/hook"}))
        assert "https://baton.acme.example/hook" in added.values()
        failed(jf.post(f"/form/{FORM}/webhooks", data={"webhookURL": "not a url"}), 400)
        failed(jf.get("/form/999/webhooks"), 404)
        failed(jf.get("/no/such/thing"), 404)
        failed(jf.delete("/user"), 404)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.binary(max_size=80),
    ctype=st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain"]),
)
def test_malformed_webhook_bodies(sandbox: Sandbox, body: bytes, ctype: str) -> None:
    resp = httpx.post(
        sandbox.urls["jotform"] + f"/form/{FORM}/webhooks", content=body, headers={"APIKEY": KEY, "content-type": ctype}
    )
    assert resp.status_code in (200, 400), resp.text
    assert ENVELOPE <= set(resp.json())


def test_ratelimit_fault(sandbox: Sandbox) -> None:
    sandbox.world.faults.add(
        FaultRule.from_dict({"host": "jotform", "route": "/user", "kind": "ratelimit", "count": 1, "retry_after": 5})
    )
    resp = httpx.get(sandbox.urls["jotform"] + "/user", headers={"APIKEY": KEY})
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "5"
    assert ENVELOPE <= set(resp.json()) and resp.json()["responseCode"] == 429


def _salesforce_consent(browser: httpx.Client, location: str, username: str, password: str) -> str:
    """Log in to the Salesforce stand-in and click Allow; returns the redirect back to the client."""
    resp = browser.get(location)
    assert resp.status_code == 302, resp.text
    login_url = str(resp.url.join(resp.headers["location"]))
    start = parse_qs(urlsplit(login_url).query)["startURL"][0]
    resp = browser.post(str(resp.url.join("/")), data={"username": username, "pw": password, "startURL": start})
    assert resp.status_code == 302, resp.text
    consent = browser.get(str(resp.url.join(resp.headers["location"])))
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', consent.text))
    assert fields, consent.text
    fields = {k: v.replace("&amp;", "&") for k, v in fields.items()} | {"decision": "Allow"}
    back = browser.post(str(consent.url.join("/services/oauth2/authorize")), data=fields)
    assert back.status_code == 302, back.text
    return back.headers["location"]


def test_salesforce_integration_as_another_user(fresh_sandbox: Sandbox) -> None:
    """Guide: Authenticate -> log in as the API user, Allow -> choose action, object, mapping -> Save."""
    world, base = fresh_sandbox.world, fresh_sandbox.urls["jotform"]
    assert integration(world, FORM)["salesforce_username"] == "alice@acme.example"  # type: ignore[index]
    settings_page = f"{base}/build/{FORM}/settings/integrations/salesforce"
    with httpx.Client(verify=fresh_sandbox.ca_file, timeout=10) as browser:
        to_sf = browser.post(settings_page + "/authenticate")
        assert to_sf.status_code == 303 and "/services/oauth2/authorize" in to_sf.headers["location"]
        back = _salesforce_consent(browser, to_sf.headers["location"], "carol@acme.example", "carol-sf-Passw0rd")
        done = browser.get(back)
        assert done.status_code == 303, done.text
        page = browser.get(settings_page)
        assert 'id="sf-user">carol@acme.example' in page.text and "Authenticated" in page.text
        bad = browser.post(
            settings_page, data={"action": "create_or_update", "object": "Lead", "map_email": "NoSuchField"}
        )
        assert bad.status_code == 400
        saved = browser.post(
            settings_page,
            data={"action": "find", "object": "Contact", "map_fullName": "LastName", "map_email": "Email"},
        )
        assert saved.status_code == 303
    state = integration(world, FORM)
    assert state is not None and state["status"] == "active"
    assert state["salesforce_username"] == "carol@acme.example" and state["salesforce_user_id"].startswith("005")
    assert state["action"] == "find" and state["object"] == "Contact"
    assert state["mapping"] == {"fullName": "LastName", "email": "Email"}
    org = world.vendors["salesforce"]
    assert org.authorized_user("Jotform")["Username"] == "carol@acme.example"
