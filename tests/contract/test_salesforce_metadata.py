"""Salesforce stand-in: the Metadata API driven by simple-salesforce 1.12's own ``sf.mdapi`` (zeep over the
metadata WSDL it ships) — readMetadata / createMetadata / updateMetadata of Profile and ConnectedApp — and the
login IP ranges and login hours it sets, enforced at SOAP and OAuth logins."""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from simple_salesforce import Salesforce, SalesforceAuthenticationFailed
from zeep.exceptions import Fault
from zeep.transports import Transport

from sandbox.salesforce import org_of
from sandbox.salesforce.seam import salesforce_session
from sandbox.server import Sandbox

USERS = {
    "bob@acme.example": ("bob-sf-Passw0rd", "BOBTOKEN0000000000000001"),
    "carol@acme.example": ("carol-sf-Passw0rd", "CAROLTOKEN00000000000001"),
}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        yield sb


def _session(sb: Sandbox, source_ip: str | None = None) -> requests.Session:
    session = salesforce_session(sb.urls["salesforce"], sb.ca_file)
    session.headers["Connection"] = "close"
    if source_ip:
        session.headers["X-Forwarded-For"] = source_ip
    return session


def login(sb: Sandbox, username: str, source_ip: str | None = None) -> Salesforce:
    password, token = USERS[username]
    return Salesforce(username=username, password=password, security_token=token, session=_session(sb, source_ip))


def mdapi(sb: Sandbox, sf: Salesforce) -> Any:
    """simple-salesforce's metadata client; its zeep transport gets a session that trusts the sandbox's CA."""
    md = sf.mdapi
    md._client.transport = Transport(session=_session(sb))
    return md


@pytest.fixture(scope="module")
def bob_md(sandbox: Sandbox) -> Any:
    return mdapi(sandbox, login(sandbox, "bob@acme.example"))


def _perms(profile: Any) -> dict[str, bool]:
    return {p.name: bool(p.enabled) for p in profile.userPermissions or []}


def _certificate() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "baton-test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_read_profile(bob_md: Any) -> None:
    admin = bob_md.Profile.read(["Admin"])
    assert admin.fullName == "Admin" and admin.userLicense == "Salesforce" and admin.custom is False
    perms = _perms(admin)
    assert perms["ApiEnabled"] and perms["ManageUsers"] and perms["ModifyAllData"] and perms["CustomizeApplication"]
    assert bob_md.Profile.read(["No Such Profile"]).fullName is None  # an empty record, as Salesforce answers


def test_clone_a_profile_by_metadata(sandbox: Sandbox, bob_md: Any) -> None:
    source = bob_md.Profile.read(["Standard"])
    wanted = {**_perms(source), "ApiEnabled": True, "ExportReport": False}
    permission = bob_md.ProfileUserPermission
    clone = bob_md.Profile(
        fullName="Integration Clone", custom=True, userLicense=source.userLicense, description="clone of Standard",
        userPermissions=[permission(enabled=on, name=name) for name, on in sorted(wanted.items())],
    )  # fmt: skip
    bob_md.Profile.create([clone])
    back = bob_md.Profile.read(["Integration Clone"])
    assert back.custom is True and back.userLicense == "Salesforce"
    assert _perms(back) == {name: True for name, on in wanted.items() if on}
    with pytest.raises(Exception, match="DUPLICATE_VALUE"):
        bob_md.Profile.create([clone])
    sf = login(sandbox, "bob@acme.example")
    assert sf.query("SELECT Id FROM Profile WHERE Name = 'Integration Clone'")["totalSize"] == 1
    with pytest.raises(Exception, match="INVALID_CROSS_REFERENCE_KEY"):
        bob_md.Profile.update([bob_md.Profile(fullName="Nope", userPermissions=[])])


def test_login_ip_ranges_and_hours_are_enforced(sandbox: Sandbox, bob_md: Any) -> None:
    org = org_of(sandbox.world)
    ip_range = bob_md.ProfileLoginIpRange(startAddress="10.20.0.0", endAddress="10.20.255.255", description="office")
    bob_md.Profile.update([bob_md.Profile(fullName="Standard", loginIpRanges=[ip_range])])
    back = bob_md.Profile.read(["Standard"])
    assert [(r.startAddress, r.endAddress) for r in back.loginIpRanges] == [("10.20.0.0", "10.20.255.255")]
    assert login(sandbox, "carol@acme.example", source_ip="10.20.3.4").query("SELECT COUNT() FROM User")["totalSize"]
    with pytest.raises(SalesforceAuthenticationFailed) as outside:
        login(sandbox, "carol@acme.example", source_ip="203.0.113.7")
    assert outside.value.code == "LOGIN_DURING_RESTRICTED_DOMAIN"
    base = sandbox.urls["salesforce"]
    with httpx.Client(verify=ssl.create_default_context(cafile=sandbox.ca_file)) as plain:
        reply = plain.post(
            base + "/services/oauth2/token",
            headers={"X-Forwarded-For": "203.0.113.7", "Connection": "close"},
            data={"grant_type": "password", "username": "carol@acme.example", "password": "carol-sf-Passw0rd",
                  "client_id": "baton-salesforce-client-0001", "client_secret": "baton-salesforce-secret-0001"},
        )  # fmt: skip
    assert reply.json() == {"error": "invalid_grant", "error_description": "ip restricted"}
    statuses = {r["Status"] for r in org.store.all("LoginHistory") if r["SourceIp"] == "203.0.113.7"}
    assert statuses == {"Restricted IP"}

    hours = bob_md.ProfileLoginHours(mondayStart="480", mondayEnd="1080")  # Monday 08:00-18:00 (org time)
    bob_md.Profile.update([bob_md.Profile(fullName="Standard", loginHours=hours)])  # the ranges stay as they were
    assert bob_md.Profile.read(["Standard"]).loginHours.mondayStart == "480"
    before = org.clock
    try:
        org.clock = lambda: dt.datetime(2026, 11, 30, 19, 0, tzinfo=dt.UTC)  # a Monday, 19:00 UTC
        with pytest.raises(SalesforceAuthenticationFailed) as late:
            login(sandbox, "carol@acme.example", source_ip="10.20.0.1")
        assert late.value.code == "LOGIN_DURING_RESTRICTED_TIME"
        org.clock = lambda: dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
        assert login(sandbox, "carol@acme.example", source_ip="10.20.0.1").session_id
        org.clock = lambda: dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)  # Tuesday: no hours given, no login
        with pytest.raises(SalesforceAuthenticationFailed):
            login(sandbox, "carol@acme.example", source_ip="10.20.0.1")
    finally:
        org.clock = before
        days = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        always = bob_md.ProfileLoginHours(
            **{f"{d}{edge}": v for d in days for edge, v in (("Start", "0"), ("End", "1440"))}
        )
        bob_md.Profile.update([bob_md.Profile(fullName="Standard", loginHours=always)])
    with pytest.raises(Exception, match="FIELD_INTEGRITY_EXCEPTION"):
        bad = bob_md.ProfileLoginIpRange(startAddress="10.0.0.9", endAddress="10.0.0.1")
        bob_md.Profile.update([bob_md.Profile(fullName="Standard", loginIpRanges=[bad])])


def test_connected_app_certificate_by_metadata(sandbox: Sandbox, bob_md: Any) -> None:
    app = bob_md.ConnectedApp.read(["Baton_Integration"])
    assert app.label == "Baton Integration" and app.oauthConfig.consumerKey == "baton-integration-client-0001"
    assert app.oauthConfig.isAdminApproved is True and app.profileName == ["Admin"]
    assert app.oauthConfig.certificate is None
    pem = _certificate()
    config = bob_md.ConnectedAppOauthConfig(
        callbackUrl=app.oauthConfig.callbackUrl, certificate=pem, consumerKey=app.oauthConfig.consumerKey,
        isAdminApproved=True, scopes=["Api", "RefreshToken", "Basic"],
    )  # fmt: skip
    bob_md.ConnectedApp.update(
        [
            bob_md.ConnectedApp(
                fullName="Baton_Integration", label=app.label, contactEmail="it@acme.example", oauthConfig=config
            )
        ]
    )
    back = bob_md.ConnectedApp.read(["Baton_Integration"])
    assert back.oauthConfig.certificate.strip() == pem.strip() and back.contactEmail == "it@acme.example"
    assert org_of(sandbox.world).connected_app("Baton Integration").certificate.strip() == pem.strip()  # type: ignore[union-attr]
    config.certificate = "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----"
    with pytest.raises(Exception, match="FIELD_INTEGRITY_EXCEPTION"):
        bob_md.ConnectedApp.update(
            [
                bob_md.ConnectedApp(
                    fullName="Baton_Integration", label=app.label, contactEmail="x@acme.example", oauthConfig=config
                )
            ]
        )
    assert bob_md.ConnectedApp.read(["Acme_Legacy_Reports"]).fullName is None  # not installed: not the org's metadata


def test_metadata_api_needs_modify_all_data(sandbox: Sandbox) -> None:
    carol_md = mdapi(sandbox, login(sandbox, "carol@acme.example", source_ip="10.20.0.1"))
    with pytest.raises(Fault) as refused:
        carol_md.Profile.read(["Standard"])
    assert refused.value.code == "sf:INSUFFICIENT_ACCESS"
    assert "ModifyAllData or ModifyMetadata" in refused.value.message
