"""Sending email through an SMTP server the operator configures.

The standard library's ``smtplib`` does the talking, in a worker thread so the
gateway's event loop (which also runs the MQTT intake) never waits on a mail
server. One connection per message: digests are sent once a day, and a connection
that cannot go stale is worth more than the handshake it saves.

Settings come from two variables, read when the gateway starts (never at import):

``PALIER_SMTP_URL``
    ``smtp://user:password@host:port`` — plain SMTP (port 25 by default);
    ``smtp://…?starttls=true`` or ``smtp+starttls://…`` — upgrade with STARTTLS
    (port 587 by default); ``smtps://…`` — TLS from the first byte (port 465).
    User and password are percent-decoded (``%40`` for ``@``); ``?timeout=`` is in
    seconds (30 by default); ``?cafile=/path/ca.pem`` trusts a private certificate
    authority (an internal relay) instead of the system's. Certificates are always
    verified.
``PALIER_SMTP_FROM``
    the sender, e.g. ``Palier <palier@residence-les-lilas.fr>``.

Errors::

    SocialError
    └── MailError            a message could not be sent (wraps smtplib/OSError)
        └── MailConfigError  PALIER_SMTP_URL / PALIER_SMTP_FROM is not usable
"""

from __future__ import annotations

import asyncio
import os
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from pathlib import Path
from typing import Literal, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from social.errors import SocialError

Security = Literal["plain", "starttls", "tls"]

_DEFAULT_PORTS: Mapping[Security, int] = {"plain": 25, "starttls": 587, "tls": 465}
_TRUE = ("1", "true", "yes", "on")


class MailError(SocialError):
    """A message could not be sent; ``__cause__`` holds smtplib's or the socket's error."""


class MailConfigError(MailError):
    """The SMTP settings cannot be used; the message names the variable."""


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    security: Security = "plain"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    ca_file: str | None = None

    def tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)

    @classmethod
    def from_url(cls, url: str, sender: str) -> SmtpSettings:
        """Settings from a ``PALIER_SMTP_URL``-style URL; :class:`MailConfigError` if invalid."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        security: Security
        if scheme == "smtp":
            security = "starttls" if query.get("starttls", "").lower() in _TRUE else "plain"
        elif scheme == "smtp+starttls":
            security = "starttls"
        elif scheme == "smtps":
            security = "tls"
        else:
            raise MailConfigError(f"PALIER_SMTP_URL: unknown scheme {parts.scheme!r}; use "
                                  "smtp://, smtp+starttls:// or smtps://")
        if not parts.hostname:
            raise MailConfigError("PALIER_SMTP_URL: no host, write smtp://host:port")
        try:
            port = parts.port or _DEFAULT_PORTS[security]
        except ValueError as exc:
            raise MailConfigError(f"PALIER_SMTP_URL: {exc}") from exc
        try:
            timeout = float(query.get("timeout", "30"))
        except ValueError as exc:
            raise MailConfigError(
                f"PALIER_SMTP_URL: timeout={query['timeout']!r} is not a number of seconds"
            ) from exc
        ca_file = query.get("cafile") or None
        if ca_file is not None and not Path(ca_file).is_file():
            raise MailConfigError(f"PALIER_SMTP_URL: cafile {ca_file!r} is not a file")
        if not parseaddr(sender)[1] or "@" not in parseaddr(sender)[1]:
            raise MailConfigError(f"PALIER_SMTP_FROM: {sender!r} is not an email address")
        return cls(
            host=parts.hostname, port=port, sender=sender, security=security,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            timeout=timeout, ca_file=ca_file,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SmtpSettings | None:
        """Settings from ``PALIER_SMTP_URL`` and ``PALIER_SMTP_FROM``; None when no URL is
        set (no digests then), :class:`MailConfigError` when they are unusable."""
        environ = os.environ if environ is None else environ
        url = environ.get("PALIER_SMTP_URL", "").strip()
        if not url:
            return None
        sender = environ.get("PALIER_SMTP_FROM", "").strip()
        if not sender:
            raise MailConfigError("PALIER_SMTP_FROM is not set: digests need a sender address")
        return cls.from_url(url, sender)


class Mailer(Protocol):
    """What the digest needs of a mail transport."""

    @property
    def sender(self) -> str: ...

    async def send(self, message: EmailMessage) -> None:
        """Send ``message`` (its To/From headers decide the envelope); :class:`MailError`
        if it was not accepted."""
        ...


class SmtpMailer:
    """Sends through one SMTP server; safe to share, each send uses its own connection."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SmtpMailer | None:
        settings = SmtpSettings.from_env(environ)
        return cls(settings) if settings is not None else None

    @property
    def sender(self) -> str:
        return self.settings.sender

    async def send(self, message: EmailMessage) -> None:
        await asyncio.to_thread(self.send_blocking, message)

    def send_blocking(self, message: EmailMessage) -> None:
        s = self.settings
        recipients = ", ".join(addr for _, addr in getaddresses(message.get_all("To", [])))
        try:
            smtp: smtplib.SMTP
            if s.security == "tls":
                smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout,
                                        context=s.tls_context())
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            with smtp:
                if s.security == "starttls":
                    smtp.starttls(context=s.tls_context())
                if s.username:
                    smtp.login(s.username, s.password or "")
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise MailError(
                f"cannot send mail to {recipients or '?'} through {s.host}:{s.port}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    def __repr__(self) -> str:
        return f"SmtpMailer({self.settings.host}:{self.settings.port}, {self.settings.security})"
