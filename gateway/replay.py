"""``palier replay``: what the rules would have done with recorded traffic, in simulated time.

An installer tests a rule before it goes live by replaying a day of the building's
real traffic (``palier record``) through it and reading the timeline: what would
have been raised, posted, escalated, acknowledged and cleared, and when.

Nothing is mocked but the clock. The decoders come from
:func:`gateway.runtime.build_routes`, the devices from the real registry, the rules
run in the real :class:`~rules.engine.RuleEngine` inside the real
:class:`~gateway.pipeline.Pipeline`, and the actions are applied by the real
:class:`~social.alarms.AlarmBook` to a throwaway SQLite database, so that a
duplicate raise is suppressed, an episode numbered and a post resolved exactly as
in production. What the timeline shows is what the database accepted, not what the
engine asked for.

Simulated time: messages are fed in file order, each with ``received_at`` = its
recorded ``t``. Before a message, the clock walks there one simulated second at a
time, and at each second fires what the live gateway's timer task would have fired
by then: device heartbeats, rule timers (``for:``, clear delays), simulated
acknowledgements and due escalations. After the last message the clock runs on
(``tail``) so that pending timers fire; heartbeats stop at the last message, since
the end of a recording is not the devices falling silent.

Replaying a file twice prints the same timeline: nothing reads the wall clock or a
random source, every id shown comes from the recording or the configuration, and
entries at the same second keep the order in which they happened.
"""

from __future__ import annotations

import logging
import math
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from devices.durations import format_duration
from devices.registry import DeviceRegistry
from gateway.availability import AvailabilityChange
from gateway.config.installation import Installation
from gateway.pipeline import Pipeline
from gateway.record import BadLine, RecordedMessage
from gateway.runtime import build_routes
from rules.actions import Action, EscalationStep, RaiseAlarm
from rules.engine import RuleEngine
from social.accounts import seed_members
from social.alarms import AlarmBook, AlarmChange
from social.db import Database
from social.errors import AlarmConflict, AlarmNotFound
from social.models import Member, Membership, Notification
from social.notifications import managers_of_building
from social.places import sync_places

DEFAULT_TIMEZONE = "Europe/Paris"
#: REJECT lines shown per reason; the rest are only counted, so a broken device that
#: sends garbage all day does not drown the incidents.
REJECTS_SHOWN_PER_REASON = 3
ACK_NOTE = "simulated by palier replay --acknowledge-after"

_KIND_WIDTH = 9


@dataclass(frozen=True, slots=True, order=True)
class TimelineEntry:
    """One line of the timeline: ``at`` simulated epoch seconds, ``seq`` the order of events."""

    at: float
    seq: int
    kind: str = field(compare=False)
    text: str = field(compare=False)

    def render(self, tz: ZoneInfo) -> str:
        return f"{stamp(self.at, tz)}  {self.kind:<{_KIND_WIDTH}} {self.text}".rstrip()


def stamp(at: float, tz: ZoneInfo) -> str:
    """Local wall time to the second, as the timeline shows it (truncated, never rounded up,
    so that an event never appears to happen before the message that caused it)."""
    return datetime.fromtimestamp(math.floor(at), tz).strftime("%Y-%m-%d %H:%M:%S")


@dataclass(slots=True)
class _OpenAlarm:
    """What the replay remembers of an alarm the book opened, to simulate what comes next."""

    alarm_id: int
    action: RaiseAlarm
    raised_at: float  # as the book stores it (when the condition began): timers count from it
    opened_at: float  # when the alarm appeared: a manager can only react from then on
    language: str
    steps: tuple[EscalationStep, ...]  # in the order they fire, as the book takes them
    escalations: list[float]  # due times (raised_at + after) not yet seen escalated
    ack_tried: bool = False  # the simulated manager had their go (it may have been refused)
    acknowledged: bool = False  # then escalation stops


def _quote(text: str) -> str:
    return '"' + " ".join(text.split()) + '"'


def _local(text: Mapping[str, str] | str | None, language: str) -> str:
    """The text in the building's language, else French, else whatever there is."""
    if text is None:
        return ""
    if isinstance(text, str):
        return text
    for lang in (language, "fr", "en"):
        if text.get(lang):
            return text[lang]
    return next(iter(text.values()), "")


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def longest_timer(installation: Installation, acknowledge_after: float | None) -> float:
    """The longest chain of timers the rules can have pending when a recording ends.

    A condition held ``for`` then escalated step after step, a clear delay, a
    simulated acknowledgement: running on that long lets every one of them fire.
    """
    longest = acknowledge_after or 0.0
    for rule in installation.rules:
        when = rule.when
        held = rule.for_ + float(getattr(when, "missing", None) or 0.0)
        held += float(getattr(when, "offline_for", None) or 0.0)
        held += float(getattr(when, "within", None) or 0.0)
        longest = max(longest, held + sum(step.after for step in rule.escalate))
        if rule.clear is not None:
            longest = max(longest, rule.clear.for_, rule.clear.after or 0.0)
        longest = max(longest, rule.cooldown)
    return longest


class ReplayFailed(Exception):
    """The rules or the alarm book failed on a message: a bug to show, not to hide."""

    def __init__(self, line: int | None, at: float, cause: BaseException) -> None:
        where = f"line {line}" if line is not None else "after the last message"
        super().__init__(f"{where}: {type(cause).__name__}: {cause}")
        self.line = line
        self.at = at


class Replay:
    """The real pipeline and alarm book on a throwaway database, driven by a simulated clock.

    Use as a context manager; :meth:`feed` messages in file order, then :meth:`finish`,
    then read :meth:`lines`.
    """

    def __init__(
        self,
        installation: Installation,
        *,
        acknowledge_after: float | None = None,
        tail: float | None = None,
        timezone: str = DEFAULT_TIMEZONE,
    ) -> None:
        self.installation = installation
        self.tz = ZoneInfo(timezone)
        self.acknowledge_after = acknowledge_after
        self.tail = tail if tail is not None else longest_timer(installation, acknowledge_after)
        # Built exactly as gateway.app builds them, so the replay runs what production runs.
        routes = build_routes(installation)
        registry = DeviceRegistry(installation.bridges)
        self.engine = RuleEngine(installation.rules, registry, installation.places)
        self.pipeline = Pipeline(routes.routes, registry, self.engine)
        self.book = AlarmBook()  # the site's zone for quiet hours; ``tz`` is only for display
        self._entries: list[TimelineEntry] = []
        self._seq = 0
        self._clock: float | None = None
        self._first: float | None = None
        self._last: float | None = None
        self._open: dict[int, _OpenAlarm] = {}
        self._offline_since: dict[str, float] = {}
        self._bridges: dict[str, bool] = {}
        self._rejects_shown: Counter[str] = Counter()
        self.raised = 0
        self.cleared = 0
        self.escalated = 0
        self.acknowledged = 0
        self.messages = 0
        self.skipped: list[BadLine] = []
        self._workdir: tempfile.TemporaryDirectory[str] | None = None
        self._database: Database | None = None

    # ── lifecycle ─────────────────────────────────────────────────────────────────────

    def __enter__(self) -> Self:
        self._workdir = tempfile.TemporaryDirectory(prefix="palier-replay-")
        database = Database(f"sqlite:///{Path(self._workdir.name) / 'replay.sqlite3'}")
        self._database = database
        database.migrate()
        with database.session() as session:
            sync_places(session, list(self.installation.places.values()))
            seed_members(session, self.installation.members)
            # Seeding dates memberships from today; a recording is from the past, and a
            # manager who "joined" after the incident could not acknowledge it, nor would
            # the on-call contact be paged. In a replay, everyone holds their role throughout.
            session.execute(update(Membership).values(started_at=datetime.fromtimestamp(0, UTC)))
            session.commit()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._database is not None:
            self._database.dispose()
        if self._workdir is not None:
            self._workdir.cleanup()

    @property
    def database(self) -> Database:
        if self._database is None:
            raise RuntimeError("use Replay as a context manager")
        return self._database

    # ── the simulated clock ──────────────────────────────────────────────────────────

    def feed(self, message: RecordedMessage, line: int | None = None) -> None:
        """Advance the clock to the message (timers fire on the way), then process it.

        Raises :class:`ReplayFailed` when the rules or the book fail: the replay cannot
        go on with a half-applied step, and the installer needs the line that did it.
        """
        at = message.t
        try:
            if self._clock is None:
                self._clock = self._first = at
            else:
                self._advance(at, heartbeats=True)
            self._last = at if self._last is None else max(self._last, at)
            self.messages += 1
            actions = self.pipeline.process_one(message.raw())
            self._after_step(actions, at)
            self._note_bridges(at)
        except ReplayFailed:
            raise
        except Exception as exc:
            raise ReplayFailed(line, self._clock or at, exc) from exc

    def skip(self, bad: BadLine) -> None:
        """Count a line that could not be read (the caller reports it as it goes)."""
        self.skipped.append(bad)

    def finish(self) -> None:
        """Run on for the tail so that pending timers fire, without heartbeats."""
        if self._clock is None or self.tail <= 0:
            return
        try:
            # Ticks fall on whole seconds: a timer due a fraction past the tail still fires.
            self._advance(math.ceil(self._clock + self.tail), heartbeats=False)
        except Exception as exc:
            raise ReplayFailed(None, self._clock, exc) from exc

    def _advance(self, to: float, *, heartbeats: bool) -> None:
        assert self._clock is not None
        second = math.floor(self._clock) + 1
        while second <= to:
            self._tick(float(second), heartbeats=heartbeats)
            second += 1
        self._clock = max(self._clock, to)

    def _tick(self, now: float, *, heartbeats: bool) -> None:
        """The live processor's timer task (heartbeats, then rule timers), then the people."""
        actions: list[Action] = []
        if heartbeats:
            actions += self.pipeline.check_heartbeats(now)
        actions += self.engine.tick(now)
        self._after_step(actions, now)
        if self.acknowledge_after is not None:
            self._acknowledge_due(now)
        self._escalate_due(now)

    def _after_step(self, actions: Sequence[Action], now: float) -> None:
        self._note_availability()
        self._note_rejects()
        if actions:
            self._apply(actions, now)
        # The live gateway stores these to resume after a restart; a replay never restarts.
        self.engine.take_state_changes()

    # ── entries ──────────────────────────────────────────────────────────────────────

    def _add(self, at: float, kind: str, *parts: str) -> None:
        self._entries.append(TimelineEntry(at, self._seq, kind, "  ".join(p for p in parts if p)))
        self._seq += 1

    def _language(self, place_id: str) -> str:
        node = self.installation.places.get(place_id)
        return node.language if node is not None else "fr"

    def _apply(self, actions: Sequence[Action], now: float) -> None:
        with self.database.session() as session:
            changes = self.book.apply(session, actions, now=_utc(now))
            session.commit()
        raises = {(a.rule_id, a.device_id): a for a in actions if isinstance(a, RaiseAlarm)}
        for change in changes:
            if change.change == "raised":
                self._raised(change, raises[(change.rule_id, change.device_id)], now)
            elif change.change == "cleared":
                self._cleared(change, now)

    def _raised(self, change: AlarmChange, action: RaiseAlarm, now: float) -> None:
        self.raised += 1
        lang = self._language(action.place_id)
        raised_at = change.at.timestamp()
        steps = tuple(sorted(action.escalation, key=lambda step: step.after))
        self._open[change.alarm_id] = _OpenAlarm(
            change.alarm_id, action, raised_at, now, lang, steps,
            [raised_at + step.after for step in steps],
        )
        self._add(now, "RAISE", f"{action.severity:<8}", action.rule_id, action.device_id,
                  _quote(_local(action.title, lang)))
        if action.post is not None and change.post_id is not None:
            self._add(now, "POST", action.post.kind, action.post.place_id,
                      _quote(_local(action.post.title, lang)))
        if action.help_request is not None:
            self._add(now, "POST", "help request", action.help_request.place_id,
                      _quote(_local(action.help_request.title, lang)))
        if action.notice is not None:
            self._add(now, "NOTICE", action.notice.unit_id,
                      _quote(_local(action.notice.title, lang)))
        for command in action.commands:
            self._add(now, "COMMAND", command.device_id,
                      f"{command.point}={_scalar(command.value)}", "(not sent by a replay)")
        for hook in action.webhooks:
            self._add(now, "WEBHOOK", hook.method, hook.url, "(not called by a replay)")

    def _cleared(self, change: AlarmChange, now: float) -> None:
        self.cleared += 1
        opened = self._open.pop(change.alarm_id, None)
        lasted = ""
        if opened is not None:
            seconds = change.at.timestamp() - opened.raised_at
            lasted = f"after {format_duration(seconds, 'en')}"
        self._add(now, "CLEAR", change.rule_id, change.device_id, lasted)

    def _note_availability(self) -> None:
        changes = self.pipeline.availability_changes
        while changes:
            self._availability(changes.popleft())

    def _availability(self, change: AvailabilityChange) -> None:
        device = change.device_id
        if change.state == "offline":
            self._offline_since[device] = change.at
            if change.cause == "heartbeat":
                health = self.pipeline.health.get(device)
                seen = health.last_seen if health is not None else None
                why = (f"silent for {format_duration(change.at - seen, 'en')} (heartbeat)"
                       if seen is not None else "silent (heartbeat)")
            else:
                why = f"said by the {change.cause}"
            self._add(change.at, "OFFLINE", device, why)
        elif change.state == "online" and change.previous == "offline":
            since = self._offline_since.pop(device, None)
            back = (f"after {format_duration(change.at - since, 'en')} offline"
                    if since is not None else "")
            self._add(change.at, "ONLINE", device, back)

    def _note_bridges(self, at: float) -> None:
        for bridge_id, online in self.pipeline.bridges_online.items():
            before = self._bridges.get(bridge_id)
            if before == online:
                continue
            self._bridges[bridge_id] = online
            if not online:
                self._add(at, "OFFLINE", f"bridge {bridge_id}", "said by the bridge")
            elif before is False:
                self._add(at, "ONLINE", f"bridge {bridge_id}")

    def _note_rejects(self) -> None:
        letters = self.pipeline.dead_letters
        while letters:
            letter = letters.popleft()
            reason = letter.reason.split(":", 1)[0]
            self._rejects_shown[reason] += 1
            if self._rejects_shown[reason] <= REJECTS_SHOWN_PER_REASON:
                self._add(letter.at, "REJECT", letter.topic, letter.reason)

    # ── simulated people and escalations ─────────────────────────────────────────────

    @staticmethod
    def _manager_for(session: Session, building_id: str | None, now: float) -> Member | None:
        """Who acknowledges: of the building's managers (as the book counts them), the one
        listed first in members.yaml, since seeding numbers members in file order."""
        if building_id is None:
            return None
        ids = managers_of_building(session, building_id, now=_utc(now))
        return session.get(Member, min(ids)) if ids else None

    def _acknowledge_due(self, now: float) -> None:
        assert self.acknowledge_after is not None
        for alarm in self._open.values():
            if alarm.ack_tried or now < alarm.opened_at + self.acknowledge_after:
                continue
            alarm.ack_tried = True
            rule_id, subject = alarm.action.rule_id, alarm.action.device_id
            with self.database.session() as session:
                manager = self._manager_for(session, alarm.action.building_id, now)
                if manager is None:
                    self._add(now, "ACK", rule_id, subject,
                              "skipped: no manager of this building in members.yaml")
                    continue
                try:
                    self.book.acknowledge(session, alarm.alarm_id, manager, ACK_NOTE,
                                          now=_utc(now))
                except (AlarmNotFound, AlarmConflict) as exc:
                    self._add(now, "ACK", rule_id, subject, f"refused: {exc}")
                    continue
                session.commit()
            alarm.acknowledged = True
            self.acknowledged += 1
            self._add(now, "ACK", rule_id, subject, f"by {manager.username}", _quote(ACK_NOTE))

    def _escalate_due(self, now: float) -> None:
        """Ask the book for due escalations, but only when one of ours may be due.

        The book would answer at every simulated second, at the cost of a query each;
        the due times are known from the raise, so a day of replay asks a few times.
        """
        if not any(a.escalations and not a.acknowledged and now >= a.escalations[0]
                   for a in self._open.values()):
            return
        with self.database.session() as session:
            changes = self.book.escalate_due(session, _utc(now))
            told = {change.alarm_id: self._told(session, change.alarm_id, now)
                    for change in changes}
            session.commit()
        for change in changes:
            self._escalated(change, told[change.alarm_id], now)
        for alarm in self._open.values():
            alarm.escalations = [due for due in alarm.escalations if due > now]

    @staticmethod
    def _told(session: Session, alarm_id: int, now: float) -> list[str]:
        """Who the book notified of an escalation just now, as the timeline names them."""
        return sorted(session.scalars(
            select(Member.username).join(Notification, Notification.member_id == Member.id)
            .where(Notification.alarm_id == alarm_id, Notification.kind == "escalation",
                   Notification.created_at == _utc(now))
        ))

    def _escalated(self, change: AlarmChange, told: list[str], now: float) -> None:
        self.escalated += 1
        alarm = self._open.get(change.alarm_id)
        step = (alarm.steps[change.step] if alarm is not None and change.step is not None
                and change.step < len(alarm.steps) else None)
        waited = format_duration(now - alarm.raised_at, "en") if alarm is not None else ""
        audience = f"to {step.notify}" if step is not None else "escalated"
        if told:
            audience += f" ({', '.join(told)})"
        self._add(now, "ESCALATE", change.rule_id, change.device_id, audience,
                  f"unacknowledged for {waited}" if waited else "")
        if step is not None and step.help_request is not None and change.post_id is not None:
            lang = alarm.language if alarm is not None else "fr"
            self._add(now, "POST", "help request", step.help_request.place_id,
                      _quote(_local(step.help_request.title, lang)))

    # ── results ──────────────────────────────────────────────────────────────────────

    @property
    def timeline(self) -> list[TimelineEntry]:
        return sorted(self._entries)

    def lines(self) -> list[str]:
        """The timeline then the summary, as ``palier replay`` prints them."""
        return [entry.render(self.tz) for entry in self.timeline] + self.summary()

    def stamp(self, at: float) -> str:
        return stamp(at, self.tz)

    def summary(self) -> list[str]:
        stats = self.pipeline.stats
        out = [""]
        if self._first is None or self._last is None:
            out.append("replayed 0 messages")
        else:
            span = format_duration(self._last - self._first, "en")
            tail = f", then {format_duration(self.tail, 'en')} of timers" if self.tail else ""
            out.append(f"replayed {self.messages} messages from {self.stamp(self._first)} to "
                       f"{self.stamp(self._last)} ({span}){tail}")
        out.append(f"  readings {stats.readings}, events {stats.events}, availability "
                   f"{stats.availability}, ignored {stats.ignored}, unrouted {stats.unrouted}")
        rejected = sum(stats.rejected.values())
        if rejected:
            folded = ", ".join(f"{n} × {reason}" for reason, n in sorted(
                stats.rejected.items(), key=lambda item: (-item[1], item[0])))
            out.append(f"  rejected {rejected}: {folded}")
        if stats.unclaimed:
            sources = ", ".join(f"{source} ({n})" for source, n in sorted(
                stats.unclaimed.items(), key=lambda item: (-item[1], item[0])))
            out.append(f"  unclaimed sources: {sources}")
        if self.skipped:
            shown = ", ".join(str(bad.line) for bad in self.skipped[:10])
            more = ", ..." if len(self.skipped) > 10 else ""
            out.append(f"  skipped lines: {len(self.skipped)} (line {shown}{more})")
        out.append(f"  alarms: {self.raised} raised, {self.escalated} escalated, "
                   f"{self.acknowledged} acknowledged, {self.cleared} cleared, "
                   f"{len(self._open)} still open")
        return out


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


# ── reading a recording ──────────────────────────────────────────────────────────────


def read_recording(lines: Iterable[bytes], on_bad: Callable[[BadLine], None]
                   ) -> Iterator[tuple[int, RecordedMessage]]:
    """``(line number, message)`` of a recording; a bad line goes to ``on_bad``, the rest come.

    Blank lines are skipped silently: an editor's trailing newline is no error.
    """
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            on_bad(BadLine(number, f"not UTF-8 text (byte {exc.start + 1})"))
            continue
        try:
            yield number, RecordedMessage.from_line(text, number)
        except BadLine as bad:
            on_bad(bad)


def _count_lines(path: Path) -> int:
    count = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            count += chunk.count(b"\n")
    return count


def run_replay(
    recording: Path,
    config: Path,
    *,
    acknowledge_after: float | None = None,
    tail: float | None = None,
    timezone: str = DEFAULT_TIMEZONE,
    progress: bool = True,
    out: IO[str] | None = None,
    err: IO[str] | None = None,
) -> int:
    """``palier replay``: 0 on success, 1 on an invalid config, recording or rule failure."""
    out = out or sys.stdout
    err = err or sys.stderr
    with _replay_logging(err):
        return _run(recording, config, acknowledge_after, tail, timezone, progress, out, err)


@contextmanager
def _replay_logging(err: IO[str]) -> Iterator[None]:
    """Warnings of the rules and the book reach the installer; rejects are in the timeline.

    Scoped to the run, so that calling the replay from Python leaves logging as it was.
    """
    root = logging.getLogger()
    handler = None
    if not root.handlers:
        handler = logging.StreamHandler(err)
        handler.setFormatter(logging.Formatter("palier replay: %(levelname)s: %(message)s"))
        handler.setLevel(logging.WARNING)
        root.addHandler(handler)
    pipeline = logging.getLogger("gateway.pipeline")
    level = pipeline.level
    pipeline.setLevel(logging.ERROR)
    try:
        yield
    finally:
        pipeline.setLevel(level)
        if handler is not None:
            root.removeHandler(handler)


def _run(recording: Path, config: Path, acknowledge_after: float | None, tail: float | None,
         timezone: str, progress: bool, out: IO[str], err: IO[str]) -> int:
    from tqdm import tqdm

    from gateway.config.errors import ConfigError
    from gateway.config.loader import load_installation

    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        print(f"palier replay: unknown time zone {timezone!r}", file=err)
        return 2
    try:
        installation = load_installation(config)
    except ConfigError as exc:
        for issue in (*exc.issues, *exc.warnings):
            print(issue, file=err)
        print(f"palier replay: {config} is not valid; nothing replayed", file=err)
        return 1
    for warning in installation.warnings:
        print(warning, file=err)
    try:
        source = recording.open("rb")
    except OSError as exc:
        print(f"palier replay: cannot read {recording}: {exc.strerror or exc}", file=err)
        return 1

    started = time.monotonic()
    show = progress and err.isatty()
    with source, Replay(installation, acknowledge_after=acknowledge_after, tail=tail,
                        timezone=timezone) as replay:

        def bad_line(bad: BadLine) -> None:
            print(f"{recording}:{bad.line}: skipped: {bad.reason}", file=err)
            replay.skip(bad)

        bar = tqdm(total=_count_lines(recording) if show else None, unit="msg",
                   disable=not show, file=err, mininterval=0.25, dynamic_ncols=True,
                   leave=False)
        try:
            with bar:
                for number, message in read_recording(source, bad_line):
                    replay.feed(message, number)
                    if show:
                        bar.update(1)
                        if replay.messages % 500 == 0:
                            bar.set_postfix_str(replay.stamp(message.t), refresh=False)
                replay.finish()
        except ReplayFailed as exc:
            print(f"palier replay: {recording}: {exc}", file=err)
            print(f"palier replay: stopped at {replay.stamp(exc.at)}; the timeline so far:",
                  file=err)
            for line in replay.lines():
                print(line, file=out)
            return 1
        for line in replay.lines():
            print(line, file=out)
    elapsed = time.monotonic() - started
    rate = replay.messages / elapsed if elapsed > 0 else 0.0
    print(f"palier replay: {replay.messages} messages in {elapsed:.1f} s "
          f"({rate:,.0f} messages/s)", file=err)
    return 0
