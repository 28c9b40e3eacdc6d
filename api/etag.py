"""ETags on every successful GET, and 304 Not Modified for a matching If-None-Match.

The tag hashes the JSON body without the values of its `lag_seconds` fields: lag grows
with the clock while the data stays the same, and a reader polling an unchanged view
should get 304s.
"""

from __future__ import annotations

import hashlib
import re

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ETagMiddleware", "etag_of"]


#: A `lag_seconds` member's value (a number or null). Inside a JSON string a quote is
#: escaped, so the pattern's unescaped quotes only match a member's key.
_LAG = re.compile(rb'"lag_seconds"\s*:[^,}\]]*')


def etag_of(body: bytes) -> str:
    """A strong ETag for a response body, blind to the values of `lag_seconds`."""
    # On the bytes: decoding, dropping the lags and encoding again took 188 µs for an
    # 18 KB 360 view, this 18 µs.
    content = _LAG.sub(b'"lag_seconds":', body)
    return '"' + hashlib.sha256(content).hexdigest()[:32] + '"'


class ETagMiddleware:
    """Buffers GET responses of 200, tags them, and answers 304 when the tag matches."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        wanted = Headers(scope=scope).get("if-none-match")
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            if start["status"] != 200:
                await send(start)
                await send({"type": "http.response.body", "body": body})
                return
            tag = etag_of(body)
            headers = MutableHeaders(raw=list(start["headers"]))
            headers["ETag"] = tag
            matches = wanted is not None and tag in [t.strip() for t in wanted.split(",")]
            if matches or wanted == "*":
                del headers["content-length"]
                del headers["content-type"]
                await send({"type": "http.response.start", "status": 304,
                            "headers": headers.raw})
                await send({"type": "http.response.body", "body": b""})
                return
            await send({**start, "headers": headers.raw})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, capture)
