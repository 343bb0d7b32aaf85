"""The daily digest, received by a real SMTP server (aiosmtpd) on a free local port."""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select, update

from social.community_models import DigestRun, NotificationPref, PostRead
from social.db import Database
from social.digest import Digest, DigestItem, DigestScheduler, digest_window, render_text
from social.mailer import MailConfigError, MailError, SmtpMailer, SmtpSettings
from social.models import Member, Post
from social.posts import content_from, create_post

if TYPE_CHECKING:
    from tests.social.conftest import World

pytestmark = pytest.mark.timeout(60)

PARIS = ZoneInfo("Europe/Paris")
SENDER = "Palier <palier@lilas.example>"
#: Today in Paris: memberships in the test world started 30 days before the real now.
DAY = datetime.now(PARIS).date()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        part = self.message.get_body(("plain",))
        assert part is not None
        return str(part.get_content())

    @property
    def html(self) -> str:
        part = self.message.get_body(("html",))
        assert part is not None
        return str(part.get_content())


class Inbox:
    """An aiosmtpd handler keeping what it was given, as the mail server saw it."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.logins: list[tuple[bytes, bytes]] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"

    def authenticate(self, _server: Any, _session: Any, _envelope: Any, _mechanism: str,
                     data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append((data.login, data.password))
        return AuthResult(success=data.password == b"p@ss:word")

    def by_recipient(self) -> dict[str, Received]:
        with self._lock:
            result = {r.rcpt_tos[0]: r for r in self.received}
            assert len(result) == len(self.received), "a member got two digests"
            return result


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port,
                            authenticator=inbox.authenticate, auth_require_tls=False)
    controller.start()
    yield inbox, port
    controller.stop()


def mailer_for(port: int, credentials: str = "") -> SmtpMailer:
    return SmtpMailer(SmtpSettings.from_url(f"smtp://{credentials}127.0.0.1:{port}", SENDER))


EMAILS = {"alice": "alice@example.org", "emma": "emma@example.org", "syndic": "syndic@example.org",
          "tom": "tom@example.org", "boulanger": "pain@example.org", "bob": "bob@example.org",
          "carol": "carol@example.org"}


@dataclass
class Posts:
    drill: int
    residents_only: int
    tilleuls: int
    party: int
    alert: int
    before: int
    after: int


@pytest.fixture
def posts(database: Database, world: World) -> Posts:
    """Posts around day ``DAY``'s window (07:00 the day before to 07:00 that day, Paris)."""
    start, end = digest_window(DAY, datetime.strptime("07:00", "%H:%M").time(), PARIS)
    with database.session() as session:
        for username, email in EMAILS.items():
            session.execute(update(Member).where(Member.username == username)
                            .values(email=email))

        def post(place: str, title: dict[str, str], at: datetime, kind: str = "message",
                 author: int | None = None, body: dict[str, str] | None = None) -> Post:
            return create_post(session, place, content_from(title, body), kind=kind,
                               author_id=author, at=at)

        drill = post("lilas", {"fr": "Perceuse à prêter", "en": "Drill to lend"},
                     start + timedelta(hours=4), author=world.english_resident,
                     body={"fr": "Passez au 32.", "en": "Come to flat 32."})
        private = post("lilas", {"fr": "Entre voisins"}, start + timedelta(hours=5))
        private.residents_only = True
        tilleuls = post("tilleuls", {"fr": "Vélo trouvé"}, start + timedelta(hours=6))
        party = post("pyramides", {"fr": "Fête des voisins <b>&</b>", "en": "Street party"},
                     start + timedelta(hours=7), kind="event")
        alert = post("lilas", {"fr": "Fuite d'eau"}, start + timedelta(hours=8), kind="alert")
        ended = post("pyramides", {"fr": "Soldes terminées"}, start + timedelta(hours=9),
                     kind="promotion")
        ended.expires_at = start + timedelta(hours=10)
        offer = post("pyramides", {"fr": "Croissants -20 %"}, start + timedelta(hours=9),
                     kind="promotion")
        offer.expires_at = datetime.now(UTC) + timedelta(days=1)
        before = post("lilas", {"fr": "Trop tôt"}, start - timedelta(minutes=1))
        after = post("lilas", {"fr": "Le lendemain"}, end + timedelta(minutes=30))
        session.commit()
        return Posts(drill.id, private.id, tilleuls.id, party.id, alert.id, before.id, after.id)


def run(scheduler: DigestScheduler, day: date = DAY) -> Any:
    return asyncio.run(scheduler.run_once(day))


def test_each_member_gets_what_they_may_read_in_their_language(
    database: Database, world: World, posts: Posts, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    report = run(DigestScheduler(database, mailer_for(port)))

    mails = inbox.by_recipient()
    # bob moved out, carol is not verified: nothing to tell them
    assert set(mails) == {EMAILS[name] for name in ("alice", "emma", "syndic", "tom",
                                                     "boulanger")}
    assert sorted(report.sent) == sorted([world.resident, world.english_resident, world.manager,
                                          world.other_resident, world.merchant])

    alice = mails[EMAILS["alice"]]
    assert alice.mail_from == "palier@lilas.example"
    assert alice.message["Subject"] == "Palier — ce qui s'est passé près de chez vous"
    assert alice.message["To"] == f"Alice <{EMAILS['alice']}>"
    assert alice.message["Content-Language"] == "fr"
    assert alice.message["X-Palier-Digest"] == DAY.isoformat()
    text = alice.text
    assert text.startswith("Bonjour Alice,\n")
    for title in ("Perceuse à prêter", "Passez au 32.", "Entre voisins",
                  "Fête des voisins <b>&</b>"):
        assert title in text
    assert "Croissants -20 % (Promotion, " in text
    for title in ("Vélo trouvé", "Fuite d'eau", "Trop tôt", "Le lendemain", "Soldes terminées"):
        assert title not in text  # another building; instant; outside the window; expired
    assert (text.index("Votre immeuble — Résidence Les Lilas")
            < text.index("Votre quartier — Les Pyramides"))
    assert "(Événement, " in text
    assert '<html lang="fr">' in alice.html
    assert "Fête des voisins &lt;b&gt;&amp;&lt;/b&gt;" in alice.html

    emma = mails[EMAILS["emma"]]
    assert emma.message["Subject"] == "Palier — what happened near you"
    assert emma.message["Content-Language"] == "en"
    assert emma.text.startswith("Hello Emma,\n")
    assert "Street party" in emma.text and "Your neighbourhood — Les Pyramides" in emma.text
    assert "Drill to lend" not in emma.text  # she wrote it

    syndic = mails[EMAILS["syndic"]]
    assert "Perceuse à prêter" in syndic.text
    assert "Entre voisins" not in syndic.text  # residents only
    assert "Entre voisins" not in syndic.html

    assert "Vélo trouvé" in mails[EMAILS["tom"]].text
    assert "Perceuse" not in mails[EMAILS["tom"]].text
    merchant = mails[EMAILS["boulanger"]].text
    assert "Fête des voisins" in merchant and "Perceuse" not in merchant

    with database.session() as session:
        runs = {run.member_id: run for run in session.scalars(select(DigestRun))}
    assert runs[world.resident].day == DAY.isoformat()
    assert runs[world.resident].posts == 4
    assert runs[world.resident].sent_at is not None and runs[world.resident].error is None


def test_nothing_is_sent_twice(
    database: Database, world: World, posts: Posts, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    scheduler = DigestScheduler(database, mailer_for(port))
    run(scheduler)
    first = len(inbox.received)

    again = run(scheduler)
    assert len(inbox.received) == first and again.sent == []

    next_day = run(scheduler, DAY + timedelta(days=1))
    later = [r for r in inbox.received[first:]]
    assert sorted(r.rcpt_tos[0] for r in later) == sorted(
        [EMAILS["alice"], EMAILS["emma"], EMAILS["syndic"]])
    for received in later:
        assert "Le lendemain" in received.text
        assert "Perceuse" not in received.text and "Fête" not in received.text
    assert sorted(next_day.sent) == sorted([world.resident, world.english_resident,
                                            world.manager])


def test_two_workers_send_one_digest_per_member(
    database: Database, world: World, posts: Posts, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp

    async def both() -> None:
        await asyncio.gather(DigestScheduler(database, mailer_for(port)).run_once(DAY),
                             DigestScheduler(database, mailer_for(port)).run_once(DAY))

    asyncio.run(both())
    assert len(inbox.by_recipient()) == 5  # by_recipient fails on a second copy


def test_read_posts_and_preferences_leave_the_digest(
    database: Database, world: World, posts: Posts, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    with database.session() as session:
        session.add(PostRead(post_id=posts.drill, member_id=world.resident,
                             read_at=datetime.now(UTC)))
        session.add(NotificationPref(member_id=world.manager, kind="message", mode="off"))
        session.add(NotificationPref(member_id=world.merchant, kind="event", mode="instant"))
        session.add(NotificationPref(member_id=world.merchant, kind="promotion", mode="off"))
        session.commit()

    report = run(DigestScheduler(database, mailer_for(port)))

    mails = inbox.by_recipient()
    assert "Perceuse" not in mails[EMAILS["alice"]].text  # already read in the app
    assert "Entre voisins" in mails[EMAILS["alice"]].text
    syndic = mails[EMAILS["syndic"]].text
    assert "Perceuse" not in syndic and "Fête des voisins" in syndic
    assert EMAILS["boulanger"] not in mails  # nothing left in "digest" for them
    assert world.merchant in report.skipped


def test_a_failed_send_is_recorded_and_retried(
    database: Database, world: World, posts: Posts, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    nobody_listens = free_port()
    failed = run(DigestScheduler(database, mailer_for(nobody_listens)))
    assert len(failed.failed) == 5 and failed.sent == []
    with database.session() as session:
        errors = list(session.scalars(select(DigestRun.error)))
    assert len(errors) == 5
    assert all(error and f"through 127.0.0.1:{nobody_listens}" in error for error in errors)

    retried = run(DigestScheduler(database, mailer_for(port)))
    assert sorted(retried.sent) == sorted(failed.failed)
    assert len(inbox.by_recipient()) == 5
    with database.session() as session:
        assert all(r.sent_at is not None and r.error is None
                   for r in session.scalars(select(DigestRun)))
    assert run(DigestScheduler(database, mailer_for(port))).sent == []


def test_smtp_login_with_a_percent_encoded_password(
    sqlite_database: Database, sqlite_world: World, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    with sqlite_database.session() as session:
        session.execute(update(Member).where(Member.id == sqlite_world.resident)
                        .values(email=EMAILS["alice"]))
        create_post(session, "lilas", content_from({"fr": "Colis"}),
                    at=digest_window(DAY, datetime.strptime("07:00", "%H:%M").time(),
                                     PARIS)[0] + timedelta(hours=1))
        session.commit()

    report = run(DigestScheduler(sqlite_database, mailer_for(port, "palier:p%40ss%3Aword@")))

    assert report.sent == [sqlite_world.resident]
    assert inbox.logins == [(b"palier", b"p@ss:word")]


def test_the_scheduler_sends_at_its_hour(
    sqlite_database: Database, sqlite_world: World, smtp: tuple[Inbox, int],
    post_at: Callable[..., int],
) -> None:
    inbox, port = smtp
    at = datetime.now(PARIS).replace(second=0, microsecond=0) + timedelta(minutes=2)
    with sqlite_database.session() as session:
        session.execute(update(Member).where(Member.id == sqlite_world.resident)
                        .values(email=EMAILS["alice"]))
        post_at(session, "lilas", fr="Réunion du conseil syndical",
                at=at.astimezone(UTC) - timedelta(hours=2))
        session.commit()
    # A clock half a second before the digest hour: run() must wait, then send.
    offset = at.timestamp() - 0.5 - time.time()
    scheduler = DigestScheduler(sqlite_database, mailer_for(port), at=at.strftime("%H:%M"),
                                clock=lambda: time.time() + offset)

    async def main() -> float:
        task = asyncio.create_task(scheduler.run())
        started = time.monotonic()
        while not inbox.received:
            assert time.monotonic() - started < 10, "no digest was sent"
            await asyncio.sleep(0.05)
        waited = time.monotonic() - started
        task.cancel()
        return waited

    waited = asyncio.run(main())
    assert waited >= 0.4
    assert [r.rcpt_tos for r in inbox.received] == [[EMAILS["alice"]]]
    assert "Réunion du conseil syndical" in inbox.received[0].text


def test_the_text_lists_nearest_circles_first_and_counts_the_rest() -> None:
    at = datetime(2026, 3, 14, 8, 5, tzinfo=UTC)
    items = (
        DigestItem(3, "evry", "city", "Évry", "event", "Marché de nuit", "", at),
        DigestItem(1, "lilas/b/3/31", "unit", "Appartement 31", "lending", "Escabeau",
                   "Rendu " * 80, at),
        DigestItem(2, "lilas", "building", "Résidence Les Lilas", "poll", "Local vélos ?", "", at),
    )
    digest = Digest(1, "emma@example.org", "Emma", "en", date(2026, 3, 15),
                    (at, at + timedelta(days=1)), items, more=3)

    text = render_text(digest, PARIS)

    assert [line for line in text.splitlines() if line.startswith("Your ")] == [
        "Your home — Appartement 31", "Your building — Résidence Les Lilas", "Your city — Évry"]
    assert "• Escabeau (Lending, 09:05)" in text
    assert "Rendu Rendu" in text and "Rendu " * 80 not in text  # an excerpt, not the whole body
    assert "… and 3 more posts to read in Palier." in text
    assert "Here is what happened near you in the 24 hours up to 15 March 2026 at 09:05." in text


def test_the_next_run_and_windows_follow_the_local_clock(sqlite_database: Database) -> None:
    scheduler = DigestScheduler(sqlite_database, mailer_for(25), at="07:00")
    day = date(2026, 3, 14)
    before = datetime(2026, 3, 14, 5, 0, tzinfo=UTC)  # 06:00 in Paris
    after = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)   # 10:00 in Paris

    assert scheduler.next_run(before) == (day, datetime(2026, 3, 14, 6, 0, tzinfo=UTC))
    assert scheduler.next_run(after) == (day, after)  # catch up at once after a restart
    scheduler._last_day = day
    assert scheduler.next_run(after) == (date(2026, 3, 15),
                                         datetime(2026, 3, 15, 6, 0, tzinfo=UTC))
    # Summer time starts on 29 March 2026: that day's window is 23 hours long.
    start, end = digest_window(date(2026, 3, 29), scheduler.at, PARIS)
    assert (start, end) == (datetime(2026, 3, 28, 6, 0, tzinfo=UTC),
                            datetime(2026, 3, 29, 5, 0, tzinfo=UTC))
    assert digest_window(date(2026, 3, 30), scheduler.at, PARIS)[0] == end


@pytest.mark.parametrize(("url", "expected"), [
    ("smtp://mail.example:2525", ("mail.example", 2525, "plain", None, None)),
    ("smtp://mail.example", ("mail.example", 25, "plain", None, None)),
    ("smtp://u:p@mail.example?starttls=true", ("mail.example", 587, "starttls", "u", "p")),
    ("smtp+starttls://u%40x:p%2Fq@mail.example:26", ("mail.example", 26, "starttls", "u@x",
                                                      "p/q")),
    ("smtps://mail.example", ("mail.example", 465, "tls", None, None)),
])
def test_smtp_urls(url: str, expected: tuple[object, ...]) -> None:
    s = SmtpSettings.from_url(url, SENDER)
    assert (s.host, s.port, s.security, s.username, s.password) == expected
    assert "p/q" not in repr(s) and "'p'" not in repr(s)


@pytest.mark.parametrize(("url", "sender", "message"), [
    ("http://mail.example", SENDER, "PALIER_SMTP_URL: unknown scheme 'http'"),
    ("smtp://", SENDER, "PALIER_SMTP_URL: no host"),
    ("smtp://mail.example:99999", SENDER, "PALIER_SMTP_URL: Port out of range"),
    ("smtp://mail.example?timeout=soon", SENDER, "timeout='soon' is not a number"),
    ("smtp://mail.example", "palier", "PALIER_SMTP_FROM: 'palier' is not an email address"),
    ("smtp://mail.example?cafile=/nowhere/ca.pem", SENDER,
     "PALIER_SMTP_URL: cafile '/nowhere/ca.pem' is not a file"),
])
def test_unusable_smtp_settings_say_which_variable(url: str, sender: str, message: str) -> None:
    with pytest.raises(MailConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        SmtpSettings.from_url(url, sender)


def test_smtp_settings_from_the_environment() -> None:
    assert SmtpMailer.from_env({}) is None
    with pytest.raises(MailConfigError, match="PALIER_SMTP_FROM is not set"):
        SmtpSettings.from_env({"PALIER_SMTP_URL": "smtp://mail.example"})
    mailer = SmtpMailer.from_env({"PALIER_SMTP_URL": "smtp://mail.example:2525",
                                  "PALIER_SMTP_FROM": SENDER})
    assert mailer is not None and mailer.sender == SENDER
    assert mailer.settings.port == 2525


def test_a_scheduler_from_the_environment(sqlite_database: Database) -> None:
    assert DigestScheduler.from_env(sqlite_database, {}) is None
    scheduler = DigestScheduler.from_env(
        sqlite_database, {"PALIER_SMTP_URL": "smtp://mail.example", "PALIER_SMTP_FROM": SENDER},
        at="06:30")
    assert scheduler is not None and scheduler.at.isoformat() == "06:30:00"
    with pytest.raises(MailConfigError):
        DigestScheduler.from_env(sqlite_database, {"PALIER_SMTP_URL": "ftp://mail.example",
                                                   "PALIER_SMTP_FROM": SENDER})


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


@pytest.fixture
def certificates(tmp_path: Path) -> tuple[Path, ssl.SSLContext]:
    """A certificate authority made by the test, and a server context it signed."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
            "/CN=Palier test CA", "-keyout", "ca.key", "-out", "ca.crt", cwd=tmp_path)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
            "-keyout", "server.key", "-out", "server.csr", cwd=tmp_path)
    (tmp_path / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.crt",
            cwd=tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "server.crt", tmp_path / "server.key")
    return tmp_path / "ca.crt", context


def message_to(address: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = SENDER, address, "test"
    message.set_content("bonjour")
    return message


@pytest.mark.parametrize("scheme", ["smtp+starttls", "smtps"])
def test_tls_with_a_private_authority_and_a_login(
    scheme: str, certificates: tuple[Path, ssl.SSLContext]
) -> None:
    ca_file, server_context = certificates
    inbox, port = Inbox(), free_port()
    if scheme == "smtps":
        controller = Controller(inbox, hostname="127.0.0.1", port=port,
                                ssl_context=server_context, authenticator=inbox.authenticate,
                                auth_require_tls=False)
    else:
        controller = Controller(inbox, hostname="127.0.0.1", port=port,
                                tls_context=server_context, require_starttls=True,
                                authenticator=inbox.authenticate)
    controller.start()
    try:
        url = f"{scheme}://palier:p%40ss%3Aword@127.0.0.1:{port}"
        trusted = SmtpMailer(SmtpSettings.from_url(f"{url}?cafile={ca_file}", SENDER))
        asyncio.run(trusted.send(message_to(EMAILS["alice"])))
        assert [r.rcpt_tos for r in inbox.received] == [[EMAILS["alice"]]]
        assert inbox.logins == [(b"palier", b"p@ss:word")]

        untrusted = SmtpMailer(SmtpSettings.from_url(url, SENDER))
        with pytest.raises(MailError, match="CERTIFICATE_VERIFY_FAILED"):
            asyncio.run(untrusted.send(message_to(EMAILS["emma"])))
        assert len(inbox.received) == 1
    finally:
        controller.stop()
