"""The OAuth 2.0 JWT bearer flow for Salesforce (RFC 7523, authlib's ``AssertionClient``) and the RSA key pair
it needs: the private key signs the assertion, the certificate goes on the connected app."""

from __future__ import annotations

import datetime as dt
import hashlib
import ssl
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import AssertionClient
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from joserfc.jwk import RSAKey
from pydantic import SecretStr

from clients.salesforce import SalesforceError
from core import redaction

LOGIN_AUDIENCE = "https://login.salesforce.com"


@dataclass(frozen=True)
class KeyPair:
    private_key: SecretStr  # PEM (PKCS#8); only ever written to Vault
    certificate: str  # PEM X.509, self-signed; public


def new_key_pair(common_name: str, days: int = 730) -> KeyPair:
    """A 2048-bit RSA key and a self-signed certificate for it (what Salesforce's "Use digital signatures" takes)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days)).sign(key, hashes.SHA256())
    )  # fmt: skip
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    redaction.register(pem.decode())
    return KeyPair(SecretStr(pem.decode()), cert.public_bytes(serialization.Encoding.PEM).decode())


def fingerprint(certificate_pem: str) -> str:
    """SHA-256 of the certificate (DER), hex: names a certificate in reports without showing it."""
    cert = x509.load_pem_x509_certificate(certificate_pem.encode())
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()[:16]


def jwt_bearer_token(
    token_url: str, consumer_key: str, username: str, private_key: SecretStr, *, audience: str = LOGIN_AUDIENCE,
    ca_file: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """``POST /services/oauth2/token`` grant_type=jwt-bearer: an access token as *username*, no person asked."""
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_file) if ca_file else True
    try:
        with AssertionClient(
            token_url, issuer=consumer_key, subject=username, audience=audience,
            key=RSAKey.import_key(private_key.get_secret_value()),
            alg="RS256", expires_in=180, verify=verify, trust_env=False,
        ) as client:  # fmt: skip
            token = dict(client.refresh_token())
    except OAuthError as exc:
        raise SalesforceError("JWT bearer grant", str(exc.error), str(exc.description or ""), 400) from None
    except httpx.HTTPError as exc:
        raise SalesforceError("JWT bearer grant", "SERVER_UNAVAILABLE", type(exc).__name__, 503) from None
    redaction.register(str(token.get("access_token", "")))
    return token
