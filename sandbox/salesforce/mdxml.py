"""The Metadata API's SOAP envelopes (namespace ``http://soap.sforce.com/2006/04/metadata``): reading a
request into plain Python values and writing results and faults, as simple-salesforce's zeep client
(over the WSDL it ships) sends and expects them."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape

from starlette.responses import Response

NS = "http://soap.sforce.com/2006/04/metadata"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
# Elements the WSDL declares maxOccurs="unbounded": always lists, even with one item.
REPEATED = {"fullNames", "metadata", "loginIpRanges", "userPermissions", "scopes", "profileName", "permissionSetName"}


class BadRequest(Exception):
    pass


def local(tag: str) -> str:
    return tag.rpartition("}")[2]


def to_python(element: ET.Element) -> Any:
    """Leaf → its text; otherwise a dict of children (repeated ones as lists); ``xsi:type`` as ``"@type"``."""
    children = list(element)
    if not children:
        return (element.text or "").strip()
    out: dict[str, Any] = {}
    kind = element.get(f"{{{XSI}}}type")
    if kind:
        out["@type"] = kind.rpartition(":")[2]
    for child in children:
        name, value = local(child.tag), to_python(child)
        if name in REPEATED:
            out.setdefault(name, []).append(value)
        else:
            out[name] = value
    return out


def parse(raw: bytes) -> tuple[str | None, str, dict[str, Any]]:
    """(session id, operation, its arguments) of a Metadata API request."""
    if b"<!DOCTYPE" in raw.upper() or b"<!ENTITY" in raw.upper():
        raise BadRequest("DTDs are not accepted")
    try:
        root = ET.fromstring(raw)  # noqa: S314 - no DTD, so no entity expansion
    except ET.ParseError as exc:
        raise BadRequest("Unable to parse the request body as XML") from exc
    session = root.find(f".//{{{NS}}}SessionHeader/{{{NS}}}sessionId")
    body = root.find(f"{{{SOAP}}}Body")
    if body is None or not list(body):
        raise BadRequest("No SOAP Body")
    operation = next(iter(body))
    args = to_python(operation)
    return (session.text or "").strip() if session is not None else None, local(operation.tag), args or {}


def to_xml(name: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "".join(to_xml(name, item) for item in value)
    if isinstance(value, dict):
        kind = value.get("@type")
        attr = f' xsi:type="{kind}"' if kind else ""
        inner = "".join(to_xml(k, v) for k, v in value.items() if k != "@type")
        return f"<{name}{attr}>{inner}</{name}>"
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{name}>{escape(str(value))}</{name}>"


def envelope(body: str) -> Response:
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{SOAP}" xmlns="{NS}" '
        f'xmlns:xsi="{XSI}"><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>'
    )
    return Response(xml, media_type="text/xml")


def fault(code: str, message: str) -> Response:
    body = (
        f'<soapenv:Fault xmlns:sf="{NS}"><faultcode>sf:{code}</faultcode>'
        f"<faultstring>{code}: {escape(message)}</faultstring></soapenv:Fault>"
    )
    response = envelope(body)
    response.status_code = 500
    return response
