"""Salesforce stand-in: the OAuth 2.0 JWT bearer grant, driven by authlib's RFC 7523 client (AssertionClient),
with the certificate put on the connected app through simple-salesforce's Metadata API."""

from __future__ import annotations

import datetime as dt
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import AssertionClient
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from simple_salesforce import Salesforce
from zeep.transports import Transport

from sandbox.salesforce import org_of
from sandbox.salesforce.seam import salesforce_session
from sandbox.server import Sandbox

APP_KEY = "baton-integration-client-0001"
LOGIN = "https://login.salesforce.com"


@dataclass
class KeyPair:
    private_pem: bytes
    certificate: str


def key_pair() -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "baton-jwt")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return KeyPair(private, cert.public_bytes(serialization.Encoding.PEM).decode())


def _session(sb: Sandbox) -> requests.Session:
    session = salesforce_session(sb.urls["salesforce"], sb.ca_file)
    session.headers["Connection"] = "close"
    return session


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        yield sb


@pytest.fixture(scope="module")
def keys(sandbox: Sandbox) -> KeyPair:
    """A key pair whose certificate bob puts on Baton Integration through the Metadata API."""
    pair = key_pair()
    bob = Salesforce(username="bob@acme.example", password="bob-sf-Passw0rd", security_token="BOBTOKEN0000000000000001",
                     session=_session(sandbox))  # fmt: skip
    md = bob.mdapi
    md._client.transport = Transport(session=_session(sandbox))
    app = md.ConnectedApp.read(["Baton_Integration"])
    app.oauthConfig.certificate = pair.certificate
    md.ConnectedApp.update([app])
    return pair


def jwt_token(sb: Sandbox, username: str, key: bytes, *, issuer: str = APP_KEY, audience: str = LOGIN,
              source_ip: str | None = None, **sign: Any) -> dict[str, Any]:  # fmt: skip
    headers = {"Connection": "close", **({"X-Forwarded-For": source_ip} if source_ip else {})}
    with AssertionClient(
        sb.urls["salesforce"] + "/services/oauth2/token", issuer=issuer, subject=username, audience=audience,
        key=key, alg="RS256", verify=ssl.create_default_context(cafile=sb.ca_file), headers=headers, **sign,
    ) as client:  # fmt: skip
        return dict(client.refresh_token())


def refused(sb: Sandbox, username: str, key: bytes, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(OAuthError) as caught:
        jwt_token(sb, username, key, **kwargs)
    return caught.value.error, caught.value.description


def test_pre_authorized_user_gets_a_token_with_no_person(sandbox: Sandbox, keys: KeyPair) -> None:
    token = jwt_token(sandbox, "bob@acme.example", keys.private_pem)  # System Administrator: granted via profile
    assert token["token_type"] == "Bearer" and "refresh_token" not in token
    sf = Salesforce(instance_url=token["instance_url"], session_id=token["access_token"], session=_session(sandbox))
    assert sf.query("SELECT Username FROM User WHERE Username = 'bob@acme.example'")["records"][0]["Username"]
    org = org_of(sandbox.world)
    bob = org.user_by_username("bob@acme.example")
    rows = [
        r for r in org.store.all("LoginHistory") if r["UserId"] == bob["Id"] and r["Application"] == "Baton Integration"
    ]  # type: ignore[index]
    assert rows and rows[-1]["Status"] == "Success" and rows[-1]["LoginType"] == "Remote Access 2.0"


def test_assertion_errors_as_salesforce_words_them(sandbox: Sandbox, keys: KeyPair) -> None:
    other = key_pair()
    assert refused(sandbox, "bob@acme.example", other.private_pem) == ("invalid_grant", "invalid assertion")
    assert refused(sandbox, "bob@acme.example", keys.private_pem, audience="https://evil.example") == (
        "invalid_grant", "audience is invalid",
    )  # fmt: skip
    past = int(time.time()) - 600
    assert refused(sandbox, "bob@acme.example", keys.private_pem, issued_at=past - 60, expires_at=past) == (
        "invalid_grant", "expired authorization code",
    )  # fmt: skip
    assert refused(sandbox, "bob@acme.example", keys.private_pem, issuer="nope") == (
        "invalid_client_id", "client identifier invalid",
    )  # fmt: skip
    assert refused(sandbox, "ghost@acme.example", keys.private_pem) == ("invalid_grant", "invalid assertion")
    assert refused(sandbox, "fred@acme.example", keys.private_pem) == ("invalid_grant", "inactive user")


def test_admin_approved_app_needs_a_grant_through_a_permission_set(sandbox: Sandbox, keys: KeyPair) -> None:
    assert refused(sandbox, "carol@acme.example", keys.private_pem) == (
        "invalid_app_access", "user is not admin approved to access this app",
    )  # fmt: skip
    bob = Salesforce(username="bob@acme.example", password="bob-sf-Passw0rd", security_token="BOBTOKEN0000000000000001",
                     session=_session(sandbox))  # fmt: skip
    app_id = bob.query("SELECT Id FROM ConnectedApplication WHERE Name = 'Baton Integration'")["records"][0]["Id"]
    ps = bob.PermissionSet.create({"Name": "Baton_JWT_Users", "Label": "Baton JWT Users"})["id"]
    bob.SetupEntityAccess.create({"ParentId": ps, "SetupEntityId": app_id})
    carol = org_of(sandbox.world).user_by_username("carol@acme.example")["Id"]  # type: ignore[index]
    assignment = bob.PermissionSetAssignment.create({"AssigneeId": carol, "PermissionSetId": ps})["id"]
    assert jwt_token(sandbox, "carol@acme.example", keys.private_pem)["access_token"]

    profile = org_of(sandbox.world).profile_of(org_of(sandbox.world).user(carol))  # type: ignore[arg-type]
    profile["_loginIpRanges"] = [{"startAddress": "10.1.0.0", "endAddress": "10.1.0.255", "description": None}]
    try:
        assert refused(sandbox, "carol@acme.example", keys.private_pem, source_ip="203.0.113.9") == (
            "invalid_grant", "ip restricted",
        )  # fmt: skip
        assert jwt_token(sandbox, "carol@acme.example", keys.private_pem, source_ip="10.1.0.7")["access_token"]
    finally:
        profile["_loginIpRanges"] = []
    bob.PermissionSetAssignment.delete(assignment)


def test_self_authorize_app_needs_a_previous_approval(sandbox: Sandbox, keys: KeyPair) -> None:
    org = org_of(sandbox.world)
    baton = org.connected_app("Baton")
    assert baton is not None and not baton.admin_approved_only
    baton.certificate = keys.certificate
    kwargs = {"issuer": baton.client_id}
    assert refused(sandbox, "carol@acme.example", keys.private_pem, **kwargs) == (
        "invalid_grant", "user hasn't approved this consumer",
    )  # fmt: skip
    org.grant("Baton", "carol@acme.example")  # carol approved it once, with a refresh token
    assert jwt_token(sandbox, "carol@acme.example", keys.private_pem, **kwargs)["access_token"]
