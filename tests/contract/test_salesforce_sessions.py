"""Baton's own Salesforce session across the org's session timeout: log in again once (client credentials),
retry the call, and fail clearly when the new session is refused too. Sessions are ended through the sandbox's
admin host (``POST /salesforce/sessions/expire``, ``POST /salesforce/session_timeout``)."""

from __future__ import annotations

import time

import httpx
import pytest

from clients.salesforce import STILL_INVALID, SalesforceClient, SalesforceError, make_session
from clients.salesforce_metadata import MetadataClient
from sandbox.salesforce import org_of
from sandbox.server import Sandbox

TOKEN_CALL = "salesforce POST /services/oauth2/token"
ADMIN_QUERY = "SELECT Id FROM Profile WHERE Name = 'System Administrator'"


def _admin(sb: Sandbox) -> SalesforceClient:
    session = make_session(sb.urls["salesforce"], sb.ca_file)
    return SalesforceClient.client_credentials(
        sb.urls["salesforce"], "baton-salesforce-client-0001", "baton-salesforce-secret-0001", session=session
    )


def test_a_long_lived_client_logs_in_again_after_every_session_ended(fresh_sandbox: Sandbox) -> None:
    sf = _admin(fresh_sandbox)
    md = MetadataClient(sf.sf, make_session(fresh_sandbox.urls["salesforce"], fresh_sandbox.ca_file), owner=sf)
    first_token = sf.sf.session_id
    assert sf.query("SELECT Id FROM Profile")
    assert md.read("Profile", "Admin") is not None
    grants = fresh_sandbox.world.calls[TOKEN_CALL]
    for round_ in range(1, 4):
        ended = httpx.post(fresh_sandbox.urls["admin"] + "/salesforce/sessions/expire", json={}).json()["expired"]
        assert ended >= 1
        if round_ == 2:  # the Metadata API's SessionHeader is renewed too
            assert md.read("Profile", "Admin") is not None
        else:
            assert sf.identity().user_id
            assert sf.query("SELECT Id FROM Profile")
        assert sf.reauths == round_, "one login again per expiry, not per call"
    assert fresh_sandbox.world.calls[TOKEN_CALL] == grants + 3
    assert sf.sf.session_id != first_token


def test_the_orgs_session_timeout_ends_an_idle_session(fresh_sandbox: Sandbox) -> None:
    sf = _admin(fresh_sandbox)
    answer = httpx.post(fresh_sandbox.urls["admin"] + "/salesforce/session_timeout", json={"seconds": 1})
    assert answer.json() == {"seconds": 1.0}
    assert sf.one(ADMIN_QUERY) is not None
    time.sleep(0.5)
    assert sf.one(ADMIN_QUERY) is not None and sf.reauths == 0, "in use: the timeout counts from the last call"
    time.sleep(1.3)
    assert sf.one(ADMIN_QUERY) is not None and sf.reauths == 1
    assert org_of(fresh_sandbox.world).sessions_expired == 1


def test_a_second_invalid_session_after_logging_in_again_fails_clearly(fresh_sandbox: Sandbox) -> None:
    sf = _admin(fresh_sandbox)
    org = org_of(fresh_sandbox.world)
    org.session_timeout = 1e-6  # every session ends at once, the new one too
    grants = fresh_sandbox.world.calls[TOKEN_CALL]
    with pytest.raises(SalesforceError) as info:
        sf.query("SELECT Id FROM Profile")
    assert info.value.code == "INVALID_SESSION_ID"
    assert STILL_INVALID in str(info.value) and "logging in again" not in str(info.value)
    assert sf.reauths == 1 and fresh_sandbox.world.calls[TOKEN_CALL] == grants + 1, "once per failure, no loop"
    org.session_timeout = None
    assert sf.query("SELECT Id FROM Profile"), "the next call logs in again and works"
    assert sf.reauths == 2


def test_a_token_given_to_baton_is_not_renewed(fresh_sandbox: Sandbox) -> None:
    admin = _admin(fresh_sandbox)
    session = make_session(fresh_sandbox.urls["salesforce"], fresh_sandbox.ca_file)
    given = SalesforceClient.with_token(f"https://{admin.sf.sf_instance}", admin.sf.session_id, session=session)
    org_of(fresh_sandbox.world).expire_sessions()
    with pytest.raises(SalesforceError) as info:
        given.query("SELECT Id FROM Profile")
    assert info.value.code == "INVALID_SESSION_ID" and "cannot be renewed" in str(info.value)
    assert given.reauths == 0


def test_admin_endpoints_refuse_bad_input(fresh_sandbox: Sandbox) -> None:
    admin = fresh_sandbox.urls["admin"]
    answer = httpx.post(admin + "/salesforce/session_timeout", json={"seconds": "soon"})
    assert answer.status_code == 400 and "seconds must be a number" in answer.json()["message"]
    answer = httpx.post(admin + "/salesforce/sessions/expire", json={"kind": "all"})
    assert answer.status_code == 400 and "kind must be" in answer.json()["message"]
    assert org_of(fresh_sandbox.world).session_timeout is None
