"""The daily email digest: what happened near each member, in their language, once a day.

Each morning at ``at`` (local time of the site), every member with an email address
gets one message listing the posts of the last day they may read, whose kind they
set to ``digest`` (``social.preferences``), that they did not write and have not
already read in the app — grouped by circle, nearest first. Nobody gets an empty
digest.

Day ``D``'s digest covers the posts published from ``at`` on ``D - 1`` to ``at`` on
``D``. The windows follow each other without gap or overlap (daylight saving time
included), so a post is never listed twice, whichever worker sends which day.

One digest per member and day, however many workers run the scheduler: a worker
first claims the ``(member, day)`` row of ``digest_runs`` (UNIQUE), then sends, then
records ``sent_at`` or the error. A claim lost to another worker means "not mine".
A failed send is retried later that day (a conditional UPDATE claims the retry);
a worker that dies between claiming and sending loses that member's digest for the
day rather than risking sending it twice.
"""

from __future__ import annotations

import asyncio
import html
import logging
import time as _time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from social.community_models import DigestRun
from social.db import Database
from social.mailer import Mailer, MailError, SmtpMailer
from social.models import Member, Place, Post
from social.notifications import parse_time_of_day
from social.posts import localize_content
from social.preferences import load_modes, wants_digest
from social.stream import CIRCLES, readable, unread_filter

log = logging.getLogger(__name__)

#: Posts listed in one email; the rest are counted ("… and 12 more").
MAX_ITEMS = 60
#: Characters of a post's body shown under its title.
EXCERPT = 280
#: Posts read per member and day, at most: enough to count what is not listed.
_MAX_ROWS = 2000

SUBJECTS = {"fr": "Palier — ce qui s'est passé près de chez vous",
            "en": "Palier — what happened near you"}
GREETING = {"fr": "Bonjour {name},", "en": "Hello {name},"}
INTRO = {"fr": "Voici ce qui s'est passé près de chez vous ces dernières 24 heures, "
               "jusqu'au {date} à {time}.",
         "en": "Here is what happened near you in the 24 hours up to {date} at {time}."}
MORE = {"fr": "… et {n} autres publications à lire dans Palier.",
        "en": "… and {n} more posts to read in Palier."}
FOOTER = {"fr": "Vous recevez ce résumé quotidien parce que certaines publications sont réglées "
                "sur « résumé » dans vos préférences de notification. Vous pouvez les changer "
                "dans Palier.",
          "en": "You receive this daily digest because some kinds of posts are set to "
                "“digest” in your notification preferences. You can change them in Palier."}
CIRCLE_LABELS = {
    "fr": {"unit": "Votre logement", "floor": "Votre étage", "entrance": "Votre entrée",
           "building": "Votre immeuble", "neighbourhood": "Votre quartier",
           "city": "Votre ville"},
    "en": {"unit": "Your home", "floor": "Your floor", "entrance": "Your entrance",
           "building": "Your building", "neighbourhood": "Your neighbourhood",
           "city": "Your city"},
}
KIND_LABELS = {
    "fr": {"message": "Message", "alert": "Alerte", "notice": "Avis officiel",
           "help_request": "Demande d'aide", "service_offer": "Offre de service",
           "service_request": "Demande de service", "lending": "Prêt",
           "event": "Événement", "promotion": "Promotion",
           "lost_found": "Objet perdu ou trouvé", "poll": "Sondage",
           "problem_report": "Signalement"},
    "en": {"message": "Message", "alert": "Alert", "notice": "Official notice",
           "help_request": "Help request", "service_offer": "Service offer",
           "service_request": "Service request", "lending": "Lending", "event": "Event",
           "promotion": "Promotion", "lost_found": "Lost and found", "poll": "Poll",
           "problem_report": "Problem report"},
}
MONTHS = {
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}


def _lang(language: str) -> str:
    return language if language in SUBJECTS else "fr"


def long_date(day: date, language: str) -> str:
    """``14 mars 2026`` / ``14 March 2026``: no locale is installed on a gateway."""
    return f"{day.day} {MONTHS[_lang(language)][day.month - 1]} {day.year}"


def digest_window(day: date, at: time, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC interval day ``day``'s digest covers: ``at`` the day before to ``at`` that day."""
    end = datetime.combine(day, at, tzinfo=zone)
    start = datetime.combine(day - timedelta(days=1), at, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class DigestItem:
    post_id: int
    place_id: str
    place_kind: str
    place_name: str
    kind: str
    title: str
    body: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Digest:
    """One member's email, before it is rendered."""

    member_id: int
    email: str
    name: str
    language: str
    day: date
    window: tuple[datetime, datetime]
    items: tuple[DigestItem, ...]
    #: Posts beyond :data:`MAX_ITEMS`, counted but not listed.
    more: int = 0

    def groups(self) -> list[tuple[str, str, list[DigestItem]]]:
        """``(circle, place name, items)``, nearest circle first, oldest post first."""
        grouped: dict[tuple[int, str, str], list[DigestItem]] = {}
        for item in self.items:
            rank = CIRCLES.index(item.place_kind) if item.place_kind in CIRCLES else len(CIRCLES)
            grouped.setdefault((rank, item.place_name, item.place_kind), []).append(item)
        return [(kind, name, sorted(items, key=lambda i: (i.created_at, i.post_id)))
                for (_, name, kind), items in sorted(grouped.items())]


def build_digest(
    session: Session,
    member: Member,
    day: date,
    window: tuple[datetime, datetime],
    *,
    now: datetime,
) -> Digest | None:
    """``member``'s digest for ``day``, or None when there is nothing to tell them.

    ``now`` is when rights are judged: a member who moved out since gets nothing of
    their old building.
    """
    if not member.email or member.deleted_at is not None:
        return None
    modes = load_modes(session, member.id)
    kinds = sorted(kind for kind in modes if wants_digest(modes, kind))
    if not kinds:
        return None
    start, end = window
    stmt = unread_filter(readable(
        select(Post, Place).join(Place, Place.id == Post.place_id)
        .where(Post.created_at >= start, Post.created_at < end, Post.kind.in_(kinds),
               or_(Post.expires_at.is_(None), Post.expires_at > now)),  # a promotion that ended
        member.id, now=now, since_joining=True,
    ), member.id).order_by(Post.created_at, Post.id).limit(_MAX_ROWS)
    rows = session.execute(stmt).all()
    if not rows:
        return None
    language = _lang(member.language)
    items = []
    for post, place in rows:
        title, body = localize_content(post.content, language)
        items.append(DigestItem(post.id, place.id, place.kind, place.name, post.kind,
                                title, body, post.created_at))
    # The nearest circles are the ones worth keeping when the list is too long.
    items.sort(key=lambda i: (CIRCLES.index(i.place_kind) if i.place_kind in CIRCLES
                              else len(CIRCLES), i.created_at, i.post_id))
    name = member.first_name or member.display_name
    return Digest(member.id, member.email, name, language, day, window,
                  tuple(items[:MAX_ITEMS]), max(0, len(items) - MAX_ITEMS))


# -- rendering --------------------------------------------------------------------------------


def _excerpt(body: str) -> str:
    flat = " ".join(body.split())
    return flat if len(flat) <= EXCERPT else flat[:EXCERPT - 1].rstrip() + "…"


def _heading(circle: str, place_name: str, language: str) -> str:
    label = CIRCLE_LABELS[language].get(circle, circle)
    return f"{label} — {place_name}"


def render_text(digest: Digest, zone: ZoneInfo) -> str:
    lang = digest.language
    end = digest.window[1].astimezone(zone)
    lines = [GREETING[lang].format(name=digest.name), "",
             INTRO[lang].format(date=long_date(end.date(), lang), time=end.strftime("%H:%M")),
             ""]
    for circle, place_name, items in digest.groups():
        heading = _heading(circle, place_name, lang)
        lines += [heading, "=" * len(heading)]
        for item in items:
            when = item.created_at.astimezone(zone).strftime("%H:%M")
            kind = KIND_LABELS[lang].get(item.kind, item.kind)
            lines.append(f"• {item.title or '—'} ({kind}, {when})")
            if item.body.strip():
                lines.append(f"  {_excerpt(item.body)}")
        lines.append("")
    if digest.more:
        lines += [MORE[lang].format(n=digest.more), ""]
    lines += ["-- ", FOOTER[lang], ""]
    return "\n".join(lines)


def render_html(digest: Digest, zone: ZoneInfo) -> str:
    lang, e = digest.language, html.escape
    end = digest.window[1].astimezone(zone)
    parts = [
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">',
        f"<title>{e(SUBJECTS[lang])}</title></head>",
        '<body style="font-family: sans-serif; line-height: 1.4; max-width: 40em">',
        f"<p>{e(GREETING[lang].format(name=digest.name))}</p>",
        f"<p>{e(INTRO[lang].format(date=long_date(end.date(), lang), time=end.strftime('%H:%M')))}"
        "</p>",
    ]
    for circle, place_name, items in digest.groups():
        parts.append(f'<h2 style="font-size: 1.1em">{e(_heading(circle, place_name, lang))}</h2>')
        parts.append("<ul>")
        for item in items:
            when = item.created_at.astimezone(zone).strftime("%H:%M")
            kind = KIND_LABELS[lang].get(item.kind, item.kind)
            body = f"<br>{e(_excerpt(item.body))}" if item.body.strip() else ""
            parts.append(f"<li><strong>{e(item.title or '—')}</strong> "
                         f'<span style="color: #666">({e(kind)}, {when})</span>{body}</li>')
        parts.append("</ul>")
    if digest.more:
        parts.append(f"<p>{e(MORE[lang].format(n=digest.more))}</p>")
    parts.append(f'<p style="color: #666; font-size: small">{e(FOOTER[lang])}</p>')
    parts.append("</body></html>\n")
    return "\n".join(parts)


def compose(digest: Digest, sender: str, zone: ZoneInfo, *, now: datetime) -> EmailMessage:
    """The email: plain text first, HTML as the alternative, in the member's language."""
    message = EmailMessage()
    message["Subject"] = SUBJECTS[digest.language]
    message["From"] = sender
    message["To"] = formataddr((digest.name, digest.email))
    message["Date"] = format_datetime(now)
    domain = parseaddr(sender)[1].rpartition("@")[2] or None
    message["Message-ID"] = make_msgid("digest", domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Palier-Digest"] = digest.day.isoformat()
    message.set_content(render_text(digest, zone))
    message.add_alternative(render_html(digest, zone), subtype="html")
    # After the content: setting it clears every Content-* header.
    message["Content-Language"] = digest.language
    return message


# -- sending, once per member and day ---------------------------------------------------------


@dataclass
class DigestReport:
    """What one pass did, by member id."""

    day: date
    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    #: Nothing to tell them, or another worker has them.
    skipped: list[int] = field(default_factory=list)


class DigestScheduler:
    """Sends the daily digests at ``at`` in ``zone``; several may run against one database.

    ``clock`` gives epoch seconds (injected so tests choose the day); ``run`` sleeps in
    steps of at most a minute, so it notices a wall clock that jumped.
    """

    def __init__(
        self,
        database: Database,
        mailer: Mailer,
        *,
        at: str = "07:00",
        zone: str = "Europe/Paris",
        clock: Callable[[], float] = _time.time,
        retry_every: float = 600.0,
        retries: int = 3,
    ) -> None:
        self._database = database
        self._mailer = mailer
        self.at = parse_time_of_day(at)
        self.zone = ZoneInfo(zone)
        self._clock = clock
        self._retry_every = retry_every
        self._retries = retries
        self._last_day: date | None = None

    @classmethod
    def from_env(cls, database: Database, environ: Mapping[str, str] | None = None,
                 **options: Any) -> DigestScheduler | None:
        """A scheduler sending through ``PALIER_SMTP_URL``/``PALIER_SMTP_FROM``; None when no
        SMTP server is configured. :class:`~social.mailer.MailConfigError` when they are
        unusable: better to refuse to start than to find out at 07:00."""
        mailer = SmtpMailer.from_env(environ)
        return cls(database, mailer, **options) if mailer is not None else None

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def due_at(self, day: date) -> datetime:
        return datetime.combine(day, self.at, tzinfo=self.zone).astimezone(UTC)

    def next_run(self, now: datetime) -> tuple[date, datetime]:
        """The day to send next and when: today's at once if its time passed and this
        scheduler has not sent it (a restart catches up; ``digest_runs`` prevents twice)."""
        today = now.astimezone(self.zone).date()
        if self._last_day != today and now >= self.due_at(today):
            return today, now
        if now < self.due_at(today):
            return today, self.due_at(today)
        tomorrow = today + timedelta(days=1)
        return tomorrow, self.due_at(tomorrow)

    async def run(self) -> None:
        """Send every day's digests until cancelled; errors are logged and retried."""
        while True:
            day, when = self.next_run(self._now())
            await self._sleep_until(when)
            for attempt in range(self._retries + 1):
                try:
                    report = await self.run_once(day)
                except Exception:
                    log.exception("daily digest of %s failed", day)
                else:
                    if not report.failed:
                        break
                if attempt < self._retries:
                    await asyncio.sleep(self._retry_every)
            self._last_day = day

    async def _sleep_until(self, when: datetime) -> None:
        # In steps: a monotonic sleep of hours would not notice the wall clock jump.
        while True:
            remaining = (when - self._now()).total_seconds()
            if remaining <= 0:
                return
            await asyncio.sleep(min(remaining, 60.0))

    async def run_once(self, day: date) -> DigestReport:
        """Send ``day``'s digests that nobody sent yet, and retry those that failed."""
        report = DigestReport(day)
        window = digest_window(day, self.at, self.zone)
        fresh, failed = await asyncio.to_thread(self._candidates, day)
        for member_id in fresh:
            await self._one(member_id, day, window, report, retry_of=None)
        for member_id, run_id, error in failed:
            await self._one(member_id, day, window, report, retry_of=(run_id, error))
        log.info("daily digest of %s: %d sent, %d failed, %d skipped", day, len(report.sent),
                 len(report.failed), len(report.skipped))
        return report

    def _candidates(self, day: date) -> tuple[list[int], list[tuple[int, int, str]]]:
        stamp = day.isoformat()
        with self._database.session() as session:
            fresh = list(session.scalars(
                select(Member.id).where(
                    Member.email.is_not(None), Member.email != "", Member.deleted_at.is_(None),
                    ~exists(select(DigestRun.id).where(DigestRun.member_id == Member.id,
                                                       DigestRun.day == stamp)),
                ).order_by(Member.id)
            ))
            failed = [(row.member_id, row.id, row.error) for row in session.execute(
                select(DigestRun.member_id, DigestRun.id, DigestRun.error).where(
                    DigestRun.day == stamp, DigestRun.sent_at.is_(None),
                    DigestRun.error.is_not(None),
                ).order_by(DigestRun.member_id)
            )]
        return fresh, failed

    async def _one(self, member_id: int, day: date, window: tuple[datetime, datetime],
                   report: DigestReport, *, retry_of: tuple[int, str] | None) -> None:
        now = self._now()
        digest = await asyncio.to_thread(self._build, member_id, day, window, now)
        if digest is None:
            report.skipped.append(member_id)
            return
        if retry_of is None:
            run_id = await asyncio.to_thread(self._claim, member_id, day, len(digest.items))
        else:
            run_id = await asyncio.to_thread(self._claim_retry, *retry_of)
        if run_id is None:
            report.skipped.append(member_id)
            return
        try:
            message = compose(digest, self._mailer.sender, self.zone, now=now)
            await self._mailer.send(message)
        except (MailError, ValueError) as exc:
            # ValueError: an address the email package refuses (a newline in it...).
            log.warning("daily digest of %s for member %d not sent: %s", day, member_id, exc)
            await asyncio.to_thread(self._finish, run_id, None, str(exc)[:1000])
            report.failed.append(member_id)
            return
        await asyncio.to_thread(self._finish, run_id, self._now(), None)
        report.sent.append(member_id)

    def _build(self, member_id: int, day: date, window: tuple[datetime, datetime],
               now: datetime) -> Digest | None:
        with self._database.session() as session:
            member = session.get(Member, member_id)
            if member is None:
                return None
            return build_digest(session, member, day, window, now=now)

    def _claim(self, member_id: int, day: date, posts: int) -> int | None:
        """The new ``digest_runs`` row's id, or None when another worker has it."""
        with self._database.session() as session:
            run = DigestRun(member_id=member_id, day=day.isoformat(), sent_at=None,
                            posts=posts, error=None)
            session.add(run)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return None
            return run.id

    def _claim_retry(self, run_id: int, error: str) -> int | None:
        """Take a failed run back, unless another worker already did."""
        with self._database.session() as session:
            result = cast(CursorResult[Any], session.execute(
                update(DigestRun)
                .where(DigestRun.id == run_id, DigestRun.sent_at.is_(None),
                       DigestRun.error == error)
                .values(error=None)
            ))
            session.commit()
            return run_id if result.rowcount == 1 else None

    def _finish(self, run_id: int, sent_at: datetime | None, error: str | None) -> None:
        with self._database.session() as session:
            session.execute(update(DigestRun).where(DigestRun.id == run_id)
                            .values(sent_at=sent_at, error=error))
            session.commit()

