"""Salesforce stand-in: logins through the real simple-salesforce client (SOAP, password and
client-credentials grants), its fault shapes, and recovery from a server-side session expiry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from simple_salesforce import Salesforce, SalesforceAuthenticationFailed
from simple_salesforce.login import SalesforceLogin

from sandbox.salesforce import org_of
from sandbox.salesforce.seam import salesforce_session
from sandbox.server import Sandbox

BOB = {"username": "bob@acme.example", "password": "bob-sf-Passw0rd", "security_token": "BOBTOKEN0000000000000001"}


_OPEN: list[requests.Session] = []


def _session(sb: Sandbox) -> requests.Session:
    session = salesforce_session(sb.urls["salesforce"], sb.ca_file)
    # No keep-alive: an open TLS connection holds up the sandbox's shutdown by 10 s.
    session.headers["Connection"] = "close"
    _OPEN.append(session)
    return session


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """A sandbox of this module's own: these tests create users (licences are finite) and end sessions."""
    with Sandbox() as sb:
        yield sb


@pytest.fixture(autouse=True)
def _close_sessions() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()  # open keep-alive connections would hold up the sandbox's shutdown


def test_soap_login_gives_session_and_instance(sandbox: Sandbox) -> None:
    session_id, instance = SalesforceLogin(session=_session(sandbox), **BOB)
    assert instance == sandbox.urls["salesforce"].removeprefix("https://")
    assert session_id.startswith(org_of(sandbox.world).org_id[:15] + "!")
    sf = Salesforce(session=_session(sandbox), **BOB)
    me = sf.query("SELECT Id, Username, Profile.Name FROM User WHERE Username = 'bob@acme.example'")
    assert me["totalSize"] == 1
    assert me["records"][0]["Profile"]["Name"] == "System Administrator"
    used, total = sf.api_usage["api-usage"]
    assert total == 15000 and used >= 1


def test_soap_login_reply_shape(sandbox: Sandbox) -> None:
    body = (
        '<?xml version="1.0" encoding="utf-8"?><env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/">'
        '<env:Body><n1:login xmlns:n1="urn:partner.soap.sforce.com"><n1:username>bob@acme.example</n1:username>'
        "<n1:password>bob-sf-Passw0rdBOBTOKEN0000000000000001</n1:password></n1:login></env:Body></env:Envelope>"
    )
    url = sandbox.urls["salesforce"] + "/services/Soap/u/59.0"
    reply = _session(sandbox).post(url, body, headers={"SOAPAction": "login", "content-type": "text/xml"})
    assert reply.status_code == 200
    for element in (
        "<sessionId>",
        "<serverUrl>",
        "<userId>005",
        "<userInfo>",
        "<organizationId>00D",
        "<userName>bob@acme.example</userName>",
        "<passwordExpired>false</passwordExpired>",
    ):
        assert element in reply.text


@pytest.mark.parametrize(
    ("username", "password", "token", "code"),
    [
        ("bob@acme.example", "wrong-Passw0rd", "BOBTOKEN0000000000000001", "INVALID_LOGIN"),
        ("bob@acme.example", "bob-sf-Passw0rd", "WRONGTOKEN", "INVALID_LOGIN"),
        ("nobody@acme.example", "x", "y", "INVALID_LOGIN"),
        ("fred@acme.example", "fred-sf-Passw0rd", "FREDTOKEN000000000000001", "INVALID_LOGIN"),  # inactive
        ("nora@acme.example", "nora-sf-Passw0rd", "NORATOKEN000000000000001", "API_CURRENTLY_DISABLED"),
    ],
)
def test_soap_login_faults(sandbox: Sandbox, username: str, password: str, token: str, code: str) -> None:
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        Salesforce(username=username, password=password, security_token=token, session=_session(sandbox))
    assert caught.value.code == code
    assert b"Traceback" not in caught.value.content and caught.value.content  # the sf:exceptionMessage


def test_soap_fault_is_a_soap_envelope(sandbox: Sandbox) -> None:
    url = sandbox.urls["salesforce"] + "/services/Soap/u/59.0"
    reply = _session(sandbox).post(url, "not xml", headers={"SOAPAction": "login", "content-type": "text/xml"})
    assert reply.status_code == 500  # SOAP 1.1 faults are HTTP 500, as Salesforce sends them
    assert "<sf:exceptionCode>" in reply.text and "Traceback" not in reply.text


def test_login_history_records_attempts(sandbox: Sandbox) -> None:
    with pytest.raises(SalesforceAuthenticationFailed):
        Salesforce(username="carol@acme.example", password="bad", security_token="bad", session=_session(sandbox))
    sf = Salesforce(session=_session(sandbox), **BOB)
    carol = sf.query("SELECT Id FROM User WHERE Username = 'carol@acme.example'")["records"][0]["Id"]
    rows = sf.query(f"SELECT Status, LoginType FROM LoginHistory WHERE UserId = '{carol}'")["records"]
    assert any(r["Status"] == "Invalid Password" for r in rows)


def test_password_grant(sandbox: Sandbox) -> None:
    sf = Salesforce(
        username="bob@acme.example",
        password="bob-sf-Passw0rdBOBTOKEN0000000000000001",
        consumer_key="baton-salesforce-client-0001",
        consumer_secret="baton-salesforce-secret-0001",
        session=_session(sandbox),
    )
    assert sf.query("SELECT COUNT() FROM User")["totalSize"] >= 5
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        Salesforce(
            username="bob@acme.example",
            password="nope",
            consumer_key="baton-salesforce-client-0001",
            consumer_secret="baton-salesforce-secret-0001",
            session=_session(sandbox),
        )
    assert (caught.value.code, caught.value.content) == ("invalid_grant", b"authentication failure")
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        Salesforce(
            username="fred@acme.example",
            password="fred-sf-Passw0rd",
            consumer_key="baton-salesforce-client-0001",
            consumer_secret="baton-salesforce-secret-0001",
            session=_session(sandbox),
        )
    assert (caught.value.code, caught.value.content) == ("invalid_grant", b"inactive user")


def test_client_credentials_runs_as_configured_user(sandbox: Sandbox) -> None:
    sf = Salesforce(
        consumer_key="baton-salesforce-client-0001",
        consumer_secret="baton-salesforce-secret-0001",
        domain="acme.my",
        session=_session(sandbox),
    )
    ident = (
        _session(sandbox)
        .get(
            sandbox.urls["salesforce"] + "/services/oauth2/userinfo",
            headers={"Authorization": f"Bearer {sf.session_id}"},
        )
        .json()
    )
    assert ident["preferred_username"] == "bob@acme.example"
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        Salesforce(
            consumer_key="baton-salesforce-client-0001",
            consumer_secret="wrong",
            domain="acme.my",
            session=_session(sandbox),
        )
    assert caught.value.code == "invalid_client"


def test_expired_session_is_renewed_by_soap_relogin(sandbox: Sandbox) -> None:
    sf = Salesforce(session=_session(sandbox), **BOB)
    first = sf.session_id
    org = org_of(sandbox.world)
    assert org.invalidate_sessions(org.user_by_username("bob@acme.example")["Id"], kind="soap") >= 1
    # The client gets 401 INVALID_SESSION_ID, logs in again over SOAP and retries.
    result = sf.query("SELECT Id FROM User WHERE Username = 'bob@acme.example'")
    assert result["totalSize"] == 1
    assert sf.session_id != first
    assert org.session_for(sf.session_id) is not None
    assert org.session_for(first) is None
