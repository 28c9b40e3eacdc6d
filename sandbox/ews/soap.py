"""SOAP 1.1 / EWS XML helpers: namespaces, envelope parsing, element builders, faults.

Everything the EWS stand-in writes goes through these helpers, so the namespace
prefixes (`s:`, `m:`, `t:`) and the ServerVersionInfo header are the same on every
response, as they are on a real Exchange server.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from lxml import etree

__all__ = [
    "ENS",
    "MNS",
    "SOAPNS",
    "TNS",
    "ServerVersion",
    "SoapRequest",
    "envelope",
    "fault",
    "fmt_date",
    "fmt_dt",
    "m",
    "operation_response",
    "parse_dt",
    "parse_request",
    "response_message",
    "sub",
    "t",
    "tostring",
]

SOAPNS = "http://schemas.xmlsoap.org/soap/envelope/"
MNS = "http://schemas.microsoft.com/exchange/services/2006/messages"
TNS = "http://schemas.microsoft.com/exchange/services/2006/types"
ENS = "http://schemas.microsoft.com/exchange/services/2006/errors"
NSMAP = {"s": SOAPNS, "m": MNS, "t": TNS}

# Requests are parsed with a hardened parser: no entity expansion, no network access.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def t(name: str) -> str:
    """The Clark name of an element in the EWS types namespace."""
    return f"{{{TNS}}}{name}"


def m(name: str) -> str:
    """The Clark name of an element in the EWS messages namespace."""
    return f"{{{MNS}}}{name}"


def sub(parent: etree._Element, tag: str, text: Any = None, **attrs: Any) -> etree._Element:
    """Append a child element; `text` is converted the way EWS writes values."""
    child = etree.SubElement(parent, tag, {k: _text(v) for k, v in attrs.items() if v is not None})
    if text is not None:
        child.text = _text(text)
    return child


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return fmt_dt(value)
    if isinstance(value, date):
        return fmt_date(value)
    return str(value)


def fmt_dt(value: datetime) -> str:
    """EWS writes UTC timestamps with a trailing Z and no fractional seconds."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fmt_date(value: date) -> str:
    """A calendar date as EWS writes it in recurrence ranges."""
    return value.strftime("%Y-%m-%d")


def parse_dt(value: str) -> datetime:
    """Parse an xs:dateTime from a request; naive values are taken as UTC."""
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class ServerVersion:
    """What the stand-in reports in ServerVersionInfo (Exchange 2016 CU-ish by default)."""

    def __init__(self, major: int = 15, minor: int = 1, build: int = 2507,
                 revision: int = 6, version: str = "V2017_07_11") -> None:
        self.major, self.minor, self.build, self.revision = major, minor, build, revision
        # Exchange 2016 reports a "V2017_07_11"-style Version string; exchangelib knows it is
        # not a valid request version and keeps the one it asked with.
        self.version = version


class SoapRequest:
    """A parsed request: the operation element and what the SOAP header said."""

    def __init__(self, operation: etree._Element, header: etree._Element | None) -> None:
        self.operation = operation
        self.name = etree.QName(operation).localname
        self.header = header

    @property
    def requested_version(self) -> str | None:
        """The RequestServerVersion the client asked for."""
        if self.header is None:
            return None
        elem = self.header.find(t("RequestServerVersion"))
        return None if elem is None else elem.get("Version")

    @property
    def impersonated(self) -> tuple[str, str] | None:
        """(kind, value) from ExchangeImpersonation/ConnectingSID, e.g. PrimarySmtpAddress."""
        if self.header is None:
            return None
        sid = self.header.find(f"{t('ExchangeImpersonation')}/{t('ConnectingSID')}")
        if sid is None or len(sid) == 0:
            return None
        return etree.QName(sid[0]).localname, (sid[0].text or "").strip()


def parse_request(body: bytes) -> SoapRequest:
    """Parse a SOAP envelope; raises ValueError when it is not one."""
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"not well-formed XML: {exc}") from exc
    if root.tag != f"{{{SOAPNS}}}Envelope":
        raise ValueError("not a SOAP 1.1 envelope")
    soap_body = root.find(f"{{{SOAPNS}}}Body")
    if soap_body is None or len(soap_body) == 0:
        raise ValueError("SOAP envelope without a Body")
    return SoapRequest(soap_body[0], root.find(f"{{{SOAPNS}}}Header"))


def envelope(content: etree._Element | None, version: ServerVersion) -> etree._Element:
    """A response envelope with the ServerVersionInfo header Exchange always sends."""
    env = etree.Element(f"{{{SOAPNS}}}Envelope", nsmap={"s": SOAPNS})
    header = sub(env, f"{{{SOAPNS}}}Header")
    etree.SubElement(header, f"{{{TNS}}}ServerVersionInfo", {
        "MajorVersion": str(version.major), "MinorVersion": str(version.minor),
        "MajorBuildNumber": str(version.build), "MinorBuildNumber": str(version.revision),
        "Version": version.version}, nsmap={"h": TNS, None: TNS})
    body = sub(env, f"{{{SOAPNS}}}Body")
    if content is not None:
        body.append(content)
    return env


def response_message(parent: etree._Element, operation: str, code: str = "NoError",
                     text: str | None = None) -> etree._Element:
    """One `<m:{operation}ResponseMessage>` with ResponseClass/ResponseCode filled in."""
    klass = "Success" if code == "NoError" else "Error"
    msg = sub(parent, m(f"{operation}ResponseMessage"), ResponseClass=klass)
    if text:
        sub(msg, m("MessageText"), text)
    sub(msg, m("ResponseCode"), code)
    if code != "NoError":
        sub(msg, m("DescriptiveLinkKey"), 0)
    return msg


def operation_response(operation: str) -> tuple[etree._Element, etree._Element]:
    """`<m:{op}Response>` and its `<m:ResponseMessages>` container."""
    resp = etree.Element(m(f"{operation}Response"), nsmap={"m": MNS, "t": TNS})
    return resp, sub(resp, m("ResponseMessages"))


def fault(code: str, message: str, version: ServerVersion | None,
          back_off_ms: int | None = None) -> etree._Element:
    """A SOAP fault as Exchange sends it (e.g. ErrorServerBusy with BackOffMilliseconds)."""
    env = etree.Element(f"{{{SOAPNS}}}Envelope", nsmap={"s": SOAPNS})
    if version is not None:
        header = sub(env, f"{{{SOAPNS}}}Header")
        etree.SubElement(header, f"{{{TNS}}}ServerVersionInfo", {
            "MajorVersion": str(version.major), "MinorVersion": str(version.minor),
            "MajorBuildNumber": str(version.build), "MinorBuildNumber": str(version.revision),
            "Version": version.version}, nsmap={"h": TNS, None: TNS})
    body = sub(env, f"{{{SOAPNS}}}Body")
    flt = sub(body, f"{{{SOAPNS}}}Fault")
    code_elem = etree.SubElement(flt, "faultcode", nsmap={"a": TNS})
    code_elem.text = f"a:{code}"
    string = sub(flt, "faultstring", message)
    string.set("{http://www.w3.org/XML/1998/namespace}lang", "en-US")
    detail = sub(flt, "detail")
    etree.SubElement(detail, f"{{{ENS}}}ResponseCode", nsmap={"e": ENS}).text = code
    etree.SubElement(detail, f"{{{ENS}}}Message", nsmap={"e": ENS}).text = message
    xml = etree.SubElement(detail, f"{{{TNS}}}MessageXml", nsmap={"t": TNS})
    if back_off_ms is not None:
        sub(xml, t("Value"), back_off_ms, Name="BackOffMilliseconds")
    return env


def tostring(elem: etree._Element) -> bytes:
    """Serialise with the XML declaration, UTF-8, as IIS sends it."""
    return bytes(etree.tostring(elem, xml_declaration=True, encoding="utf-8"))
