"""Strict reading of EWS XML (SOAP responses as Exchange and Microsoft's docs show them).

exchangelib parses with a forgiving parser that repairs broken XML as best it can; that
suits a live client, but a payload we keep or compare must be exactly what was sent.
`parse_ews_xml` refuses anything that is not well-formed, with a message that says where
and why, and never expands entities or touches the network.
"""

from __future__ import annotations

from lxml import etree

from connectors.errors import FatalError

__all__ = ["parse_ews_xml", "response_codes"]

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                          recover=False)


def parse_ews_xml(data: bytes, origin: str = "EWS response") -> etree._Element:
    """The root element of well-formed XML; FatalError naming line and column otherwise."""
    try:
        return etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        raise FatalError(
            f"{origin}: not well-formed XML at line {line}, column {column}: {exc.msg}"
        ) from exc


def response_codes(root: etree._Element) -> list[str]:
    """Every ResponseCode in a response (NoError, ErrorServerBusy ...), in document order."""
    return [str(e.text or "").strip()
            for e in root.iter() if isinstance(e.tag, str)
            and etree.QName(e).localname == "ResponseCode"]
