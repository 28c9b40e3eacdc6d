"""The EWS stand-in as an ASGI app: one SOAP 1.1 endpoint, `/EWS/Exchange.asmx`, that
answers exchangelib the way Exchange 2016 does, plus JSON mutations under `/_sandbox/ews`.

Operations: ConvertId (exchangelib's version probe), GetFolder, FindItem (IndexedPageItemView
paging, CalendarView expansion, Restriction, SortOrder), GetItem, SyncFolderItems and
ResolveNames. Every response carries a ServerVersionInfo header. Throttling is a SOAP
fault `ErrorServerBusy` with `BackOffMilliseconds`, sent with HTTP 500 as Exchange does.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from sandbox.ews import soap
from sandbox.ews.render import matches, parse_shape, render_item, sort_key
from sandbox.ews.sandbox_api import sandbox_routes
from sandbox.ews.soap import ServerVersion, SoapRequest, m, response_message, sub, t
from sandbox.ews.store import EwsStore, SyncStateError
from sandbox.faults import Fault, FaultMiddleware, FaultPlan

__all__ = ["ENDPOINT", "EwsError", "ExchangeFaults", "create_app"]

ENDPOINT = "/EWS/Exchange.asmx"
_XML = "text/xml; charset=utf-8"


def _children(elem: etree._Element | None) -> list[etree._Element]:
    """The child elements of an optional element (lxml elements are falsy when empty)."""
    return [] if elem is None else list(elem)


class EwsError(Exception):
    """An error answered as a ResponseMessage with ResponseClass="Error"."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code, self.text = code, text


class _Ews:
    """The SOAP endpoint; one instance per app."""

    def __init__(self, store: EwsStore, version: ServerVersion,
                 credentials: dict[str, str] | None) -> None:
        self.store, self.version, self.credentials = store, version, credentials

    # ---------------------------------------------------------------- HTTP

    def _user(self, request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("basic "):
            return None
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        if self.credentials is not None and self.credentials.get(user.lower()) != password:
            return None
        return user

    async def handle(self, request: Request) -> Response:
        """POST /EWS/Exchange.asmx."""
        user = self._user(request)
        if user is None:
            # exchangelib (auth_type=None) reads the offered schemes from this header.
            return Response(status_code=401, headers={
                "WWW-Authenticate": f'Basic realm="{request.url.hostname}"'})
        try:
            req = soap.parse_request(await request.body())
        except ValueError as exc:
            return self._fault("ErrorSchemaValidation", str(exc))
        handler = getattr(self, f"op_{req.name}", None)
        if handler is None:
            resp, messages = soap.operation_response(req.name)
            response_message(messages, req.name, "ErrorInvalidOperation",
                             f"The stand-in does not implement {req.name}.")
            return self._xml(resp)
        try:
            mailbox = self._mailbox(req, request, user)
        except EwsError as exc:
            return self._fault(exc.code, exc.text)
        with self.store.lock:
            return self._xml(handler(req, mailbox))

    def _xml(self, content: etree._Element, status: int = 200) -> Response:
        return Response(soap.tostring(soap.envelope(content, self.version)), status_code=status,
                        media_type=_XML)

    def _fault(self, code: str, text: str) -> Response:
        return Response(soap.tostring(soap.fault(code, text, self.version)), status_code=500,
                        media_type=_XML)

    def _mailbox(self, req: SoapRequest, request: Request, user: str) -> str:
        """Whose mailbox: the impersonated user, else X-AnchorMailbox, else the caller."""
        impersonated = req.impersonated
        if impersonated is not None:
            address = impersonated[1].lower()
            if address not in self.store.mailboxes:
                raise EwsError("ErrorNonExistentMailbox",
                               f"The SMTP address has no mailbox associated with it: {address}")
            return address
        anchor = request.headers.get("x-anchormailbox", "").lower()
        return anchor if anchor in self.store.mailboxes else user.lower().split("\\")[-1]

    # ---------------------------------------------------------------- folders

    def _folder(self, elem: etree._Element, mailbox: str) -> dict[str, Any]:
        if etree.QName(elem).localname == "DistinguishedFolderId":
            owner = (elem.findtext(f"{t('Mailbox')}/{t('EmailAddress')}") or mailbox).strip()
            if owner.lower() not in self.store.mailboxes:
                raise EwsError("ErrorNonExistentMailbox",
                               f"The SMTP address has no mailbox associated with it: {owner}")
            try:
                return self.store.folder(owner.strip(), elem.get("Id", ""))
            except KeyError:
                raise EwsError("ErrorFolderNotFound",
                               "The specified folder could not be found in the store.") from None
        folder = self.store.folders.get(elem.get("Id", ""))
        if folder is None:
            raise EwsError("ErrorFolderNotFound",
                           "The specified folder could not be found in the store.")
        return folder

    def op_GetFolder(self, req: SoapRequest, mailbox: str) -> etree._Element:  # noqa: N802
        """GetFolder by DistinguishedFolderId (with Mailbox) or FolderId."""
        resp, messages = soap.operation_response("GetFolder")
        for ref in _children(req.operation.find(m("FolderIds"))):
            try:
                folder = self._folder(ref, mailbox)
            except EwsError as exc:
                response_message(messages, "GetFolder", exc.code, exc.text)
                continue
            msg = response_message(messages, "GetFolder")
            self._render_folder(sub(msg, m("Folders")), folder)
        return resp

    def _render_folder(self, parent: etree._Element, folder: dict[str, Any]) -> None:
        tag = "CalendarFolder" if folder["distinguished"] == "calendar" else "Folder"
        elem = sub(parent, t(tag))
        sub(elem, t("FolderId"), Id=folder["id"], ChangeKey="AQAAABYAAAA=")
        if folder["parent"]:
            sub(elem, t("ParentFolderId"), Id=folder["parent"], ChangeKey="AQAAAA==")
        sub(elem, t("FolderClass"), folder["FolderClass"])
        sub(elem, t("DisplayName"), folder["DisplayName"])
        items = self.store.folder_items(folder["id"])
        sub(elem, t("TotalCount"), len(items))
        children = sum(1 for f in self.store.folders.values() if f["parent"] == folder["id"])
        sub(elem, t("ChildFolderCount"), children)
        rights = sub(elem, t("EffectiveRights"))
        for right in ("CreateAssociated", "CreateContents", "CreateHierarchy", "Delete",
                      "Modify", "Read"):
            sub(rights, t(right), True)
        if folder["distinguished"]:
            sub(elem, t("DistinguishedFolderId"), folder["distinguished"])
        if tag == "Folder":
            sub(elem, t("UnreadCount"), sum(1 for i in items if i.get("IsRead") is False))

    # ---------------------------------------------------------------- items

    def _mint(self, master: dict[str, Any], index: int) -> str:
        return str(self.store.occurrence(master, index)["ItemId"])

    def op_FindItem(self, req: SoapRequest, mailbox: str) -> etree._Element:  # noqa: N802
        """FindItem (Shallow) with paging, CalendarView, Restriction and SortOrder."""
        op = req.operation
        shape = parse_shape(op.find(m("ItemShape")))
        resp, messages = soap.operation_response("FindItem")
        for ref in _children(op.find(m("ParentFolderIds"))):
            try:
                folder = self._folder(ref, mailbox)
            except EwsError as exc:
                response_message(messages, "FindItem", exc.code, exc.text)
                continue
            items = self.store.folder_items(folder["id"])
            restriction = op.find(m("Restriction"))
            view = op.find(m("CalendarView"))
            if view is not None:
                start = soap.parse_dt(view.get("StartDate", ""))
                end = soap.parse_dt(view.get("EndDate", ""))
                items = [o for i in items for o in self.store.expand(i, start, end)]
                items.sort(key=lambda i: (i["Start"], i["Subject"]))
            else:
                items.sort(key=lambda i: i.get("DateTimeReceived", ""), reverse=True)
            if restriction is not None:
                items = [i for i in items if matches(i, restriction)]
            for order in reversed(op.findall(f"{m('SortOrder')}/{t('FieldOrder')}")):
                # Stable sorts from the last key to the first give a multi-key order.
                self._sort(items, order)
            msg = response_message(messages, "FindItem")
            total = len(items)
            if view is not None:
                limit = int(view.get("MaxEntriesReturned") or total or 1)
                page, attrs = items[:limit], {"TotalItemsInView": total,
                                              "IncludesLastItemInRange": total <= limit}
            else:
                paging = op.find(m("IndexedPageItemView"))
                page, attrs = self._page(items, paging)
            root = sub(msg, m("RootFolder"), **attrs)
            container = sub(root, t("Items"))
            for item in page:
                render_item(container, item, shape, self._mint)
        return resp

    @staticmethod
    def _sort(items: list[dict[str, Any]], order: etree._Element) -> None:
        uri = order.find(t("FieldURI"))
        if uri is not None:
            field_uri = uri.get("FieldURI", "")
            items.sort(key=lambda i: sort_key(i, field_uri),
                       reverse=order.get("Order") == "Descending")

    @staticmethod
    def _page(items: list[dict[str, Any]],
              paging: etree._Element | None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        total = len(items)
        if paging is None:
            return items, {"TotalItemsInView": total, "IncludesLastItemInRange": True}
        limit = int(paging.get("MaxEntriesReturned") or total or 1)
        offset = int(paging.get("Offset") or 0)
        if paging.get("BasePoint") == "End":
            # Offset counts back from the end; the page still reads forwards.
            offset = max(0, total - offset - limit)
        page = items[offset:offset + limit]
        next_offset = offset + len(page)
        return page, {"IndexedPagingOffset": next_offset, "TotalItemsInView": total,
                      "IncludesLastItemInRange": next_offset >= total}

    def _item_ref(self, ref: etree._Element) -> dict[str, Any]:
        local = etree.QName(ref).localname
        try:
            if local == "OccurrenceItemId":
                master = self.store.get(ref.get("RecurringMasterId", ""))
                return self.store.occurrence(master, int(ref.get("InstanceIndex", "1")))
            if local == "RecurringMasterItemId":
                item = self.store.resolve_id(ref.get("OccurrenceId", ""))
                return self.store.get(item.get("MasterId", item["ItemId"]))
            return self.store.resolve_id(ref.get("Id", ""))
        except (KeyError, StopIteration, ValueError):
            raise EwsError("ErrorItemNotFound",
                           "The specified object was not found in the store.") from None

    def op_GetItem(self, req: SoapRequest, mailbox: str) -> etree._Element:  # noqa: N802
        """GetItem for messages, calendar items and occurrences, one message per id."""
        shape = parse_shape(req.operation.find(m("ItemShape")))
        resp, messages = soap.operation_response("GetItem")
        for ref in _children(req.operation.find(m("ItemIds"))):
            try:
                item = self._item_ref(ref)
            except EwsError as exc:
                response_message(messages, "GetItem", exc.code, exc.text)
                continue
            msg = response_message(messages, "GetItem")
            render_item(sub(msg, m("Items")), item, shape, self._mint)
        return resp

    def op_SyncFolderItems(self, req: SoapRequest, mailbox: str) -> etree._Element:  # noqa: N802
        """SyncFolderItems: Create/Update/Delete/ReadFlagChange since a SyncState."""
        op = req.operation
        shape = parse_shape(op.find(m("ItemShape")))
        resp, messages = soap.operation_response("SyncFolderItems")
        ref = op.find(m("SyncFolderId"))
        try:
            if ref is None or len(ref) == 0:
                raise EwsError("ErrorInvalidArgument", "SyncFolderId is required.")
            folder = self._folder(ref[0], mailbox)
            wanted = int(op.findtext(m("MaxChangesReturned")) or 100)
            if not 1 <= wanted <= 512:
                raise EwsError("ErrorInvalidArgument",
                               "MaxChangesReturned must be between 1 and 512.")
            ignore = {i.get("Id") for i in _children(op.find(m("Ignore")))}
            changes, state, last = self.store.sync(
                folder["id"], (op.findtext(m("SyncState")) or "").strip() or None, wanted)
        except SyncStateError:
            code, text = ("ErrorInvalidSyncStateData",
                          "Synchronization state data is corrupt or otherwise invalid.")
        except EwsError as exc:
            code, text = exc.code, exc.text
        else:
            msg = response_message(messages, "SyncFolderItems")
            sub(msg, m("SyncState"), state)
            sub(msg, m("IncludesLastItemInRange"), last)
            container = sub(msg, m("Changes"))
            tags = {"create": "Create", "update": "Update", "delete": "Delete",
                    "read": "ReadFlagChange"}
            for kind, item in changes:
                if item["ItemId"] in ignore:
                    continue
                change = sub(container, t(tags[kind]))
                if kind == "delete":
                    sub(change, t("ItemId"), Id=item["ItemId"], ChangeKey=item["ChangeKey"])
                elif kind == "read":
                    sub(change, t("ItemId"), Id=item["ItemId"], ChangeKey=item["ChangeKey"])
                    sub(change, t("IsRead"), item["IsRead"])
                else:
                    render_item(change, item, shape, self._mint)
            return resp
        # Exchange still sends an (empty) SyncState on errors; exchangelib reads it.
        msg = response_message(messages, "SyncFolderItems", code, text)
        sub(msg, m("SyncState"))
        sub(msg, m("IncludesLastItemInRange"), True)
        return resp

    # ---------------------------------------------------------------- other operations

    def op_ConvertId(self, req: SoapRequest, mailbox: str) -> etree._Element:  # noqa: N802
        """ConvertId: EWS ids are returned unchanged; exchangelib's DUMMY probe is malformed."""
        resp, messages = soap.operation_response("ConvertId")
        for alt in _children(req.operation.find(m("SourceIds"))):
            owner = alt.get("Mailbox", "").lower()
            if alt.get("Id") == "DUMMY" or owner not in self.store.mailboxes:
                response_message(messages, "ConvertId", "ErrorInvalidIdMalformed",
                                 "Id is malformed.")
                continue
            msg = response_message(messages, "ConvertId")
            sub(sub(msg, m("AlternateId")), t("AlternateId"),
                Format=req.operation.get("DestinationFormat", "EwsId"), Id=alt.get("Id"),
                Mailbox=alt.get("Mailbox"))
        return resp

    def op_ResolveNames(self, req: SoapRequest, mailbox: str) -> etree._Element:  # noqa: N802
        """ResolveNames against the mailboxes (by address or name, prefix match)."""
        resp, messages = soap.operation_response("ResolveNames")
        query = (req.operation.findtext(m("UnresolvedEntry")) or "").strip()
        exact = query.lower().startswith("smtp:")
        needle = query[5:].lower() if exact else query.lower()
        hits = [box for address, box in sorted(self.store.mailboxes.items())
                if (address == needle if exact else address.startswith(needle) or any(
                    w.lower().startswith(needle) for w in [box["name"], *box["name"].split()]))]
        if not hits:
            response_message(messages, "ResolveNames", "ErrorNameResolutionNoResults",
                             "No results were found.")
            return resp
        if len(hits) == 1:
            msg = response_message(messages, "ResolveNames")
        else:
            msg = sub(messages, m("ResolveNamesResponseMessage"), ResponseClass="Warning")
            sub(msg, m("MessageText"), "Multiple results were found.")
            sub(msg, m("ResponseCode"), "ErrorNameResolutionMultipleResults")
            sub(msg, m("DescriptiveLinkKey"), 0)
        found = sub(msg, m("ResolutionSet"), TotalItemsInView=len(hits),
                    IncludesLastItemInRange=True)
        full = req.operation.get("ReturnFullContactData", "false") == "true"
        for box in hits[:100]:
            resolution = sub(found, t("Resolution"))
            mbx = sub(resolution, t("Mailbox"))
            for key, value in (("Name", box["name"]), ("EmailAddress", box["address"]),
                               ("RoutingType", "SMTP"), ("MailboxType", "Mailbox")):
                sub(mbx, t(key), value)
            if full:
                contact = sub(resolution, t("Contact"))
                sub(contact, t("DisplayName"), box["name"])
                emails = sub(contact, t("EmailAddresses"))
                sub(emails, t("Entry"), f"SMTP:{box['address']}", Key="EmailAddress1")
                sub(contact, t("ContactSource"), "ActiveDirectory")
        return resp


class ExchangeFaults:
    """FaultMiddleware's `render`, shaped as Exchange's throttling and server errors;
    counts what it sent (`throttled`, `without_back_off`, `server_errors`) for tests."""

    def __init__(self, plan: FaultPlan, version: ServerVersion, back_off_ms: int | None,
                 back_off_missing: float) -> None:
        self.plan, self.version = plan, version
        self.back_off_ms, self.back_off_missing = back_off_ms, back_off_missing
        self.throttled = self.server_errors = self.without_back_off = 0

    def __call__(self, kind: str, request: Request, info: dict[str, Any]) -> Response:
        """A SOAP fault with HTTP 500, as IIS sends it."""
        if kind == Fault.server_error:
            self.server_errors += 1
            body = soap.fault("ErrorInternalServerTransientError",
                              "An internal server error occurred. Try again later.", self.version)
            return Response(soap.tostring(body), status_code=500, media_type=_XML)
        self.throttled += 1
        # Whether this throttle omits BackOffMilliseconds: deterministic from the seed.
        digest = hashlib.sha256(f"{self.plan.seed}|backoff|{self.throttled}".encode()).digest()
        missing = int.from_bytes(digest[:8], "big") / 2**64 < self.back_off_missing
        self.without_back_off += missing
        millis = None if missing else (self.back_off_ms if self.back_off_ms is not None
                                       else int(info.get("retry_after", 1)) * 1000)
        body = soap.fault("ErrorServerBusy",
                          "The server cannot service this request right now. Try again later.",
                          self.version, back_off_ms=millis)
        return Response(soap.tostring(body), status_code=500, media_type=_XML)


def create_app(store: EwsStore, faults: FaultPlan | None = None, *,
               credentials: dict[str, str] | None = None, version: ServerVersion | None = None,
               back_off_ms: int | None = None, back_off_missing: float = 0.0) -> ASGIApp:
    """The EWS stand-in. `credentials` (user -> password) restricts Basic auth (default:
    any user and password); `back_off_ms` overrides the BackOffMilliseconds of throttling
    faults (default: the plan's retry_after_seconds); `back_off_missing` is the share of
    throttling faults sent without it."""
    version = version or ServerVersion()
    plan = faults or FaultPlan()
    ews = _Ews(store, version, {k.lower(): v for k, v in credentials.items()}
               if credentials is not None else None)
    app = Starlette(routes=[Route(ENDPOINT, ews.handle, methods=["POST"]),
                            *sandbox_routes(store)])
    return FaultMiddleware(app, plan,
                           render=ExchangeFaults(plan, version, back_off_ms, back_off_missing))
