"""Security headers on every response, and a strict Content-Security-Policy.

The CSP allows nothing but Palier's own origin: no inline script, no inline style
attribute, no framing (``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``
against clickjacking), forms posting only back to Palier. Pages therefore load their
scripts as files from ``/static`` and style through classes (or the CSSOM from a
script). Only the OpenAPI pages (``/docs``, ``/redoc``), which load FastAPI's Swagger
UI with an inline script, are left without the CSP.

A pure ASGI middleware rather than Starlette's ``BaseHTTPMiddleware``: it only edits
the response's first message, so the live stream (SSE) is not buffered.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
#: Paths served without the CSP: FastAPI's interactive API documentation.
CSP_EXEMPT = ("/docs", "/redoc")


class SecurityHeaders:
    """Adds the headers a response has not set itself (the stream sets its own
    ``Referrer-Policy``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        strict = not path.startswith(CSP_EXEMPT)
        static = path.startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                if strict:
                    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                    headers.setdefault("X-Frame-Options", "DENY")
                if static:  # revalidated (ETag): an upgrade reaches browsers at once
                    headers.setdefault("Cache-Control", "no-cache")
            await send(message)

        await self.app(scope, receive, send_with_headers)
