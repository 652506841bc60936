"""SOAP partner login: ``POST /services/Soap/u/<version>`` with ``SOAPAction: login``.

Faults come back as HTTP 500 with ``sf:exceptionCode`` / ``sf:exceptionMessage``, as Salesforce
(and SOAP 1.1) do; simple-salesforce reads those. The serverUrl's host is the stand-in's own
``127.0.0.1:PORT``, so the client derives the right instance from it.
"""

from __future__ import annotations

from xml.dom import minidom
from xml.parsers.expat import ExpatError
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox.salesforce.errors import LoginFailed
from sandbox.salesforce.web import VERSION_RE, client_ip, org_of
from sandbox.world import World

_ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
    'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"{extra}><soapenv:Body>{body}</soapenv:Body>'
    "</soapenv:Envelope>"
)


def fault(code: str, message: str, kind: str = "LoginFault") -> Response:
    body = (
        f"<soapenv:Fault><faultcode>sf:{code}</faultcode><faultstring>{code}: {escape(message)}</faultstring>"
        f'<detail><sf:{kind} xsi:type="sf:{kind}"><sf:exceptionCode>{code}</sf:exceptionCode>'
        f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage></sf:{kind}></detail></soapenv:Fault>"
    )
    xml = _ENVELOPE.format(extra=' xmlns:sf="urn:fault.partner.soap.sforce.com"', body=body)
    return Response(xml, status_code=500, media_type="text/xml")


def _text(doc: minidom.Document, local: str) -> str | None:
    for node in doc.getElementsByTagNameNS("*", local):
        return "".join(c.data for c in node.childNodes if c.nodeType == c.TEXT_NODE)
    return None


def routes(world: World) -> list[BaseRoute]:
    async def login(request: Request) -> Response:
        org = org_of(world)
        version = request.path_params["version"]
        if VERSION_RE.match("v" + version) is None:
            return fault(
                "UNSUPPORTED_API_VERSION", f"Invalid Api version specified on URL: {version}", "UnexpectedErrorFault"
            )
        action = request.headers.get("soapaction", "").strip('"')
        raw = await request.body()
        try:
            if b"<!DOCTYPE" in raw.upper() or b"<!ENTITY" in raw.upper():
                raise ExpatError("DTDs are not accepted")
            doc = minidom.parseString(raw)  # noqa: S318 - no DTD, so no entity expansion
        except ExpatError:
            return fault("INVALID_REQUEST", "Unable to parse the request body as XML", "UnexpectedErrorFault")
        username, secret = _text(doc, "username"), _text(doc, "password")
        if action != "login" and not doc.getElementsByTagNameNS("*", "login"):
            return fault("INVALID_OPERATION", f"No operation available for request {action!r}", "UnexpectedErrorFault")
        if not username or secret is None:
            return fault("INVALID_LOGIN", "Invalid username, password, security token; or user locked out.")
        try:
            user = org.check_login(username, secret, kind="Partner Product", source_ip=client_ip(request))
        except LoginFailed as exc:
            return fault(exc.code, exc.message)
        if not org.api_enabled(user):
            return fault("API_CURRENTLY_DISABLED", "API is disabled for this User")
        session = org.issue_session(user["Id"], "soap")
        cred = org.credentials[user["Id"]]
        base = f"{org.base_url}/services/Soap"
        profile = org.profile_of(user)
        info = "".join(
            f"<{k}>{escape(str(v))}</{k}>"
            for k, v in (
                ("accessibilityMode", "false"),
                ("currencySymbol", "$"),
                ("orgDefaultCurrencyIsoCode", "USD"),
                ("organizationId", org.org_id[:15]),
                ("organizationMultiCurrency", "false"),
                ("organizationName", org.name),
                ("profileId", profile["Id"][:15]),
                ("roleId", (user["UserRoleId"] or "")[:15]),
                ("sessionSecondsValid", 7200),
                ("userDefaultCurrencyIsoCode", "USD"),
                ("userEmail", user["Email"]),
                ("userFullName", user["Name"]),
                ("userId", user["Id"][:15]),
                ("userLanguage", user["LanguageLocaleKey"]),
                ("userLocale", user["LocaleSidKey"]),
                ("userName", user["Username"]),
                ("userTimeZone", user["TimeZoneSidKey"]),
                ("userType", user["UserType"]),
                ("userUiSkin", "Theme3"),
            )
        )
        result = (
            f"<loginResponse><result><metadataServerUrl>{base}/m/{version}/{org.org_id[:15]}"
            f"</metadataServerUrl><passwordExpired>{str(cred.password_expired).lower()}</passwordExpired>"
            f"<sandbox>false</sandbox><serverUrl>{base}/u/{version}/{org.org_id[:15]}</serverUrl>"
            f"<sessionId>{session.token}</sessionId><userId>{user['Id'][:15]}</userId>"
            f"<userInfo>{info}</userInfo></result></loginResponse>"
        )
        return Response(_ENVELOPE.format(extra="", body=result), media_type="text/xml")

    return [Route("/services/Soap/u/{version}", login, methods=["POST"])]
