"""JSON mutations of the EWS stand-in's world under `/_sandbox/ews` (exempt from faults),
so that out-of-process tests can change mailboxes between syncs.

    GET    /_sandbox/ews/mailboxes
    GET    /_sandbox/ews/mailboxes/{address}/{folder}      items of a well-known folder
    POST   /_sandbox/ews/messages                          {sender, to, subject, body?, cc?}
    POST   /_sandbox/ews/items/{id}/flag                   {status, start?, due?}
    POST   /_sandbox/ews/items/{id}/read                   {is_read?}
    POST   /_sandbox/ews/items/{id}/reply                  {body?, reply_all?}
    DELETE /_sandbox/ews/items/{id}
    POST   /_sandbox/ews/meetings                          {organizer, subject, start, end, ...}
    POST   /_sandbox/ews/meetings/{uid}/move               {start, end}
    POST   /_sandbox/ews/meetings/{uid}/cancel
    POST   /_sandbox/ews/meetings/{uid}/respond            {attendee, response}
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.ews.soap import parse_dt
from sandbox.ews.store import EwsStore

__all__ = ["sandbox_routes"]

PREFIX = "/_sandbox/ews"


def _dt(value: str | None) -> datetime | None:
    return parse_dt(value) if value else None


def sandbox_routes(store: EwsStore) -> list[Route]:
    """The mutation routes bound to `store`."""

    def endpoint(fn: Callable[[Request, dict[str, Any]], Any]) -> Callable[[Request],
                                                                          Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            body: dict[str, Any] = {}
            if request.method == "POST" and await request.body():
                body = await request.json()
            try:
                result = fn(request, body)
            except KeyError as exc:
                return JSONResponse({"error": f"not found: {exc}"}, status_code=404)
            except (ValueError, TypeError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            return JSONResponse(result if result is not None else {"ok": True})
        return handle

    def mailboxes(request: Request, body: dict[str, Any]) -> Any:
        return list(store.mailboxes.values())

    def folder_items(request: Request, body: dict[str, Any]) -> Any:
        folder = store.folder(request.path_params["address"], request.path_params["folder"])
        return store.folder_items(folder["id"])

    def send(request: Request, body: dict[str, Any]) -> Any:
        return store.send_message(body["sender"], body.get("to", []), body["subject"],
                                  body.get("body", ""), cc=body.get("cc", []),
                                  importance=body.get("importance", "Normal"))

    def flag(request: Request, body: dict[str, Any]) -> Any:
        return store.flag(request.path_params["id"], body.get("status", "Flagged"),
                          start=_dt(body.get("start")), due=_dt(body.get("due")))

    def read(request: Request, body: dict[str, Any]) -> Any:
        return store.mark_read(request.path_params["id"], body.get("is_read", True))

    def reply(request: Request, body: dict[str, Any]) -> Any:
        return store.reply(request.path_params["id"], body.get("body", ""),
                           reply_all=body.get("reply_all", False))

    def delete(request: Request, body: dict[str, Any]) -> Any:
        store.delete_item(request.path_params["id"])

    def meeting(request: Request, body: dict[str, Any]) -> Any:
        return store.add_meeting(
            body["organizer"], body["subject"], parse_dt(body["start"]), parse_dt(body["end"]),
            required=body.get("required", []), optional=body.get("optional", []),
            location=body.get("location", ""), all_day=body.get("all_day", False),
            free_busy=body.get("free_busy", "Busy"), sensitivity=body.get("sensitivity", "Normal"),
            recurrence=body.get("recurrence"), timezone=body.get("timezone", "UTC"))

    def move(request: Request, body: dict[str, Any]) -> Any:
        store.move_meeting(request.path_params["uid"], parse_dt(body["start"]),
                           parse_dt(body["end"]))

    def cancel(request: Request, body: dict[str, Any]) -> Any:
        store.cancel_meeting(request.path_params["uid"])

    def respond(request: Request, body: dict[str, Any]) -> Any:
        store.respond(request.path_params["uid"], body["attendee"], body["response"])

    return [
        Route(f"{PREFIX}/mailboxes", endpoint(mailboxes), methods=["GET"]),
        Route(f"{PREFIX}/mailboxes/{{address}}/{{folder}}", endpoint(folder_items),
              methods=["GET"]),
        Route(f"{PREFIX}/messages", endpoint(send), methods=["POST"]),
        Route(f"{PREFIX}/items/{{id}}/flag", endpoint(flag), methods=["POST"]),
        Route(f"{PREFIX}/items/{{id}}/read", endpoint(read), methods=["POST"]),
        Route(f"{PREFIX}/items/{{id}}/reply", endpoint(reply), methods=["POST"]),
        Route(f"{PREFIX}/items/{{id}}", endpoint(delete), methods=["DELETE"]),
        Route(f"{PREFIX}/meetings", endpoint(meeting), methods=["POST"]),
        Route(f"{PREFIX}/meetings/{{uid}}/move", endpoint(move), methods=["POST"]),
        Route(f"{PREFIX}/meetings/{{uid}}/cancel", endpoint(cancel), methods=["POST"]),
        Route(f"{PREFIX}/meetings/{{uid}}/respond", endpoint(respond), methods=["POST"]),
    ]
