"""A property-based test of THE visibility rule, through every read endpoint of the API.

Hypothesis draws a site (city ▸ neighbourhoods ▸ buildings ▸ entrances ▸ floors ▸ units,
of varying widths); members with memberships of every role and state (current,
unverified, ended, not started yet) and pending join requests; what the neighbours
wrote — posts of every kind at every level, residents-only ones, hidden ones, comments
(some hidden), reactions, reads, votes, RSVPs, help offers, blocks, reports, appeals —
and alarms whose rules post alerts, notices, help requests and a unit's private notice.
Then every member reads everything through the HTTP API (the feed and its filters
and pages, each post and its sub-resources, search, members, alarms, notifications,
unread counts, tickets, the moderation log and queues, their export), and a second
test holds a live stream open for every member while posts, comments and alarms are
written. Each answer is compared with an oracle computed here from the drawn tree and
memberships alone, never with ``social.visibility``.

The oracle (docs/manager-guide.md, "What residents see"; docs/rights-matrix.md):

* a member's *circles*: the places of their verified, current memberships and their
  ancestors — for a merchant, association or municipality membership, only the
  neighbourhood and city among them;
* a post is read in one's circles; a residents-only post only through a membership
  that is not a manager's (manager, syndic, landlord);
* the managers of a building also read, in its shared parts (building, entrances,
  floors; never a unit), its official notices, the rules engine's posts and their own
  posts — never a residents-only one;
* a hidden post is its author's only; the posts and comments of a member one blocked
  disappear; search shows nothing hidden;
* members: the people of one's buildings, the members *at* a neighbourhood or city in
  one's circles, and oneself; alarms: the managers of their building; the moderation
  queues: the moderation scope (moderators below their place, admins everywhere,
  managers in their buildings except residents-only posts).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import text, update
from sqlalchemy.orm import Session

from rules.actions import NoticeDraft, PostDraft, RaiseAlarm
from social.alarms import AlarmBook
from social.api import create_app
from social.community_models import (
    Appeal,
    Block,
    Comment,
    HelpOffer,
    JoinRequest,
    ModerationEntry,
    PollVote,
    PostRead,
    Reaction,
    Report,
    Rsvp,
)
from social.db import Database
from social.models import POST_KINDS, Base, Member, Membership, utcnow
from social.places import sync_places
from social.post_kinds import example_data, initial_data, validate_data
from social.posts import create_post
from social.site import PlaceNode
from tests.social.conftest import World
from tests.social.posting import bearer, created, publish

pytestmark = pytest.mark.timeout(240)

#: Fixed so that CI never flickers; bounded so that each backend stays well under a
#: minute (every example resets the database and makes a few hundred requests).
PROPERTY = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: The live stream costs one open connection per member and a wait for each: fewer
#: examples, each still checking every member against every new post and alarm.
STREAM_PROPERTY = settings(PROPERTY, max_examples=12)

RESIDENTS = ("resident", "owner", "tenant")
MANAGERS = ("manager", "syndic", "landlord")
LOCAL_ACTORS = ("merchant", "association", "municipality")
ROLES = (*RESIDENTS, *MANAGERS, "installer", *LOCAL_ACTORS, "moderator", "admin")
#: Who reads a residents-only post: residents, and the moderators who answer for the space.
NOT_RESIDENTS = tuple(role for role in ROLES if role not in (*RESIDENTS, "moderator"))
#: Where each role's membership usually is; a draw may also put it anywhere else.
NATURAL = {
    **dict.fromkeys(RESIDENTS, ("unit",)), **dict.fromkeys(MANAGERS, ("building", "entrance")),
    "installer": ("building",), **dict.fromkeys(LOCAL_ACTORS, ("neighbourhood", "city")),
    "moderator": ("building", "neighbourhood"), "admin": ("city",),
}
STATES = ("current", "current", "current", "unverified", "ended", "future")
BUILDING_SPACE = ("building", "entrance", "floor", "unit")
SHARED_PARTS = ("building", "entrance", "floor")
#: Kinds a resident may restrict to residents (docs/rights-matrix.md).
RESTRICTABLE = ("message", "help_request", "service_offer", "service_request", "lending",
                "event", "lost_found", "poll")
#: Every post title and comment carries it, so one search finds them all.
WORD = "zorglub"


# -- the drawn world ---------------------------------------------------------------------


@dataclass(frozen=True)
class Site:
    kinds: dict[str, str]
    parents: dict[str, str | None]

    def ancestors(self, place: str) -> list[str]:
        chain: list[str] = []
        current: str | None = place
        while current is not None:
            chain.append(current)
            current = self.parents[current]
        return chain

    def building_of(self, place: str) -> str | None:
        return next((p for p in self.ancestors(place) if self.kinds[p] == "building"), None)

    def of_kind(self, *kinds: str) -> list[str]:
        return [p for p, kind in self.kinds.items() if kind in kinds]

    def nodes(self) -> list[PlaceNode]:
        return [PlaceNode(id=p, parent_id=self.parents[p], kind=kind,  # type: ignore[arg-type]
                          name=f"Lieu {p}") for p, kind in self.kinds.items()]


@dataclass(frozen=True)
class Tie:
    place: str
    role: str
    state: str

    @property
    def current(self) -> bool:
        return self.state == "current"


@dataclass(frozen=True)
class Person:
    ties: tuple[Tie, ...]
    join_request: str | None
    blocks: int | None


@dataclass(frozen=True)
class Writing:
    place: str
    kind: str
    author: int | None
    residents_only: bool
    hidden: bool


@dataclass(frozen=True)
class Remark:
    post: int
    author: int
    hidden: bool


@dataclass(frozen=True)
class Incident:
    building: str
    device_place: str
    post: tuple[str, str] | None  # (place, kind)
    notice_unit: str | None
    help_place: str | None


@dataclass(frozen=True)
class Scenario:
    site: Site
    people: tuple[Person, ...]
    posts: tuple[Writing, ...]
    comments: tuple[Remark, ...]
    reactions: frozenset[tuple[int, int]]
    reads: frozenset[tuple[int, int]]
    answers: frozenset[tuple[int, int]]  # RSVPs, votes and help offers, by kind
    reports: tuple[tuple[int, str, int], ...]  # (reporter, "post"|"comment", index)
    appeals: frozenset[int]
    incidents: tuple[Incident, ...]
    probes: tuple[str, ...]  # places whose feed and members every member asks for


@st.composite
def sites(draw: st.DrawFn) -> Site:
    kinds, parents = {"c": "city"}, {"c": None}

    def add(place: str, kind: str, parent: str) -> None:
        kinds[place], parents[place] = kind, parent

    buildings = 0
    for h in range(draw(st.integers(1, 2))):
        hood = f"c/n{h}"
        add(hood, "neighbourhood", "c")
        for _ in range(draw(st.integers(1 if h == 0 else 0, 2))):
            if buildings == 3:
                break
            building = f"{hood}/b{buildings}"
            buildings += 1
            add(building, "building", hood)
            for e in range(draw(st.integers(1, 2))):
                entrance = f"{building}/e{e}"
                add(entrance, "entrance", building)
                for f in range(draw(st.integers(1, 2))):
                    floor = f"{entrance}/f{f}"
                    add(floor, "floor", entrance)
                    for u in range(draw(st.integers(1, 2))):
                        add(f"{floor}/u{u}", "unit", floor)
    return Site(kinds, parents)


@st.composite
def scenarios(draw: st.DrawFn, *, interactions: bool = True) -> Scenario:
    site = draw(sites())
    places = sorted(site.kinds)
    units = site.of_kind("unit")
    people = []
    n_people = draw(st.integers(2, 6))
    for _ in range(n_people):
        ties = []
        for _ in range(draw(st.integers(1, 3))):
            role = draw(st.sampled_from(ROLES))
            natural = [p for p in places if site.kinds[p] in NATURAL[role]]
            pool = natural if natural and draw(st.booleans()) else places
            ties.append(Tie(draw(st.sampled_from(pool)), role, draw(st.sampled_from(STATES))))
        people.append(Person(
            tuple(ties),
            draw(st.none() | st.sampled_from(units)),
            draw(st.none() | st.integers(0, n_people - 1)),
        ))
    member = st.integers(0, n_people - 1)
    # Posts land mostly where someone is, or is responsible: a post far from everyone
    # tests little. A membership's place or a place above it; a place of a building
    # where someone holds a manager's membership (its shared parts, which they partly
    # read, and its units, which they never do); anywhere.
    ties = [tie for person in people for tie in person.ties]
    near = st.sampled_from(ties).flatmap(lambda tie: st.sampled_from(site.ancestors(tie.place)))
    managed = sorted({p for tie in ties if tie.role in MANAGERS for p in places
                      if site.building_of(tie.place) is not None
                      and site.building_of(p) == site.building_of(tie.place)})
    somewhere = near | near | (st.sampled_from(managed) if managed else near) | st.sampled_from(
        places)
    posts = []
    for _ in range(draw(st.integers(3, 10))):
        # Every kind, and more often those the managers' reach is about.
        kind = draw(st.sampled_from(POST_KINDS) | st.sampled_from(("notice", "message")))
        place = draw(somewhere)
        author = None if kind == "alert" else draw(st.none() | member)
        residents_only = (kind in RESTRICTABLE and site.kinds[place] in BUILDING_SPACE
                          and author is not None and draw(st.booleans()))
        posts.append(Writing(place, kind, author, residents_only,
                             draw(st.sampled_from((False, False, False, True)))))
    post = st.integers(0, len(posts) - 1)
    comments: list[Remark] = []
    reactions: frozenset[tuple[int, int]] = frozenset()
    reads: frozenset[tuple[int, int]] = frozenset()
    answers: frozenset[tuple[int, int]] = frozenset()
    reports: list[tuple[int, str, int]] = []
    appeals: frozenset[int] = frozenset()
    if interactions:
        comments = [Remark(p, a, h) for p, a, h in draw(st.lists(
            st.tuples(post, member, st.sampled_from((False, False, True))), max_size=6))]
        reactions = draw(st.frozensets(st.tuples(post, member), max_size=5))
        reads = draw(st.frozensets(st.tuples(post, member), max_size=5))
        answers = frozenset((p, m) for p, m in draw(st.frozensets(st.tuples(post, member),
                                                                  max_size=6))
                            if posts[p].kind in ("event", "poll", "help_request"))
        targets = [("post", i) for i in range(len(posts))] + [
            ("comment", i) for i in range(len(comments))]
        reports = [(reporter, *target) for reporter, target in draw(st.lists(
            st.tuples(member, st.sampled_from(targets)), max_size=3))]
        appeals = frozenset(i for i, p in enumerate(posts)
                            if p.hidden and p.author is not None and draw(st.booleans()))
    incidents = []
    buildings = site.of_kind("building")
    for _ in range(draw(st.integers(0, 2)) if buildings else 0):
        building = draw(st.sampled_from(buildings))
        inside = [p for p in places if site.building_of(p) == building]
        inside_units = [p for p in inside if site.kinds[p] == "unit"]
        incidents.append(Incident(
            building, draw(st.sampled_from(inside)),
            draw(st.none() | st.tuples(st.sampled_from(inside),
                                       st.sampled_from(("alert", "notice")))),
            draw(st.none() | st.sampled_from(inside_units)),
            draw(st.none() | st.sampled_from(inside)),
        ))
    probes = tuple(draw(st.lists(st.sampled_from(places), min_size=1, max_size=3,
                                 unique=True)))
    return Scenario(site, tuple(people), tuple(posts), tuple(comments), reactions, reads,
                    answers, tuple(reports), appeals, tuple(incidents), probes)


# -- writing it to the database ----------------------------------------------------------


@dataclass
class Written:
    """Database ids of what a scenario wrote, by the scenario's indexes."""

    members: list[int] = field(default_factory=list)
    posts: list[int] = field(default_factory=list)
    comments: list[int] = field(default_factory=list)
    #: Each incident's (alarm id, building), and the posts its rule wrote, with their ids.
    alarms: list[tuple[int, str]] = field(default_factory=list)
    rule_posts: list[Writing] = field(default_factory=list)
    rule_post_ids: list[int] = field(default_factory=list)
    reports: list[int] = field(default_factory=list)
    #: Post index → appeal id.
    appeals: dict[int, int] = field(default_factory=dict)


def reset(database: Database) -> None:
    """An empty database for the next example, schema and migrations kept."""
    # DELETE, not TRUNCATE: on a few rows it is much faster on PostgreSQL (no new files
    # per table), and on SQLite it keeps the search index in step through its triggers.
    with database.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


def write(database: Database, scenario: Scenario, now: datetime) -> Written:
    reset(database)
    out = Written()
    with database.session() as session:
        sync_places(session, scenario.site.nodes())
        for i, person in enumerate(scenario.people):
            member = Member(username=f"m{i}", display_name=f"Membre {i}", password_hash="-",
                            language="fr", created_at=now, quiet_start="00:00",
                            quiet_end="00:00")
            session.add(member)
            session.flush()
            out.members.append(member.id)
            for tie in person.ties:
                session.add(Membership(
                    member_id=member.id, place_id=tie.place, role=tie.role,
                    verified=tie.state != "unverified",
                    started_at=now + (timedelta(days=1) if tie.state == "future"
                                      else -timedelta(days=30)),
                    ended_at=now - timedelta(hours=1) if tie.state == "ended" else None))
            if person.join_request is not None:
                session.add(JoinRequest(member_id=member.id, place_id=person.join_request,
                                        role="tenant", message="", status="pending",
                                        created_at=now))
        for i, person in enumerate(scenario.people):
            if person.blocks is not None and person.blocks != i:
                session.add(Block(blocker_id=out.members[i],
                                  blocked_id=out.members[person.blocks], created_at=now))
        for i, writing in enumerate(scenario.posts):
            out.posts.append(_post(session, out, writing, now - timedelta(minutes=60 - i)))
        _interactions(session, scenario, out, now)
        session.commit()
    _incidents(database, scenario, out, now)
    return out


def _post(session: Session, out: Written, writing: Writing, at: datetime) -> int:
    validated = validate_data(writing.kind, example_data(writing.kind, at), now=at)
    author = out.members[writing.author] if writing.author is not None else None
    post = create_post(
        session, writing.place,
        {"fr": {"title": f"{WORD} {writing.kind} {writing.place}", "body": ""}},
        kind=writing.kind, author_id=author, at=at, residents_only=writing.residents_only,
        data=initial_data(writing.kind, validated, now=at, author_id=author),
        **validated.columns())
    if writing.hidden:
        post.moderation = "hidden"
        session.add(ModerationEntry(place_id=writing.place, post_id=post.id, comment_id=None,
                                    action="hide", reason="r", moderator_id=None,
                                    moderator_pseudonym="M", at=at))
    session.flush()
    return post.id


def _interactions(session: Session, scenario: Scenario, out: Written, now: datetime) -> None:
    for remark in scenario.comments:
        post = scenario.posts[remark.post]
        comment = Comment(post_id=out.posts[remark.post], author_id=out.members[remark.author],
                          body=f"{WORD} remarque", created_at=now,
                          moderation="hidden" if remark.hidden else "visible")
        session.add(comment)
        session.flush()
        out.comments.append(comment.id)
        if remark.hidden:
            session.add(ModerationEntry(place_id=post.place, post_id=out.posts[remark.post],
                                        comment_id=comment.id, action="hide", reason="r",
                                        moderator_id=None, moderator_pseudonym="M", at=now))
    for p, m in scenario.reactions:
        session.add(Reaction(post_id=out.posts[p], member_id=out.members[m], kind="like",
                             created_at=now))
    for p, m in scenario.reads:
        session.add(PostRead(post_id=out.posts[p], member_id=out.members[m], read_at=now))
    for p, m in scenario.answers:
        kind, ids = scenario.posts[p].kind, (out.posts[p], out.members[m])
        if kind == "event":
            session.add(Rsvp(post_id=ids[0], member_id=ids[1], answer="yes", created_at=now))
        elif kind == "poll":
            session.add(PollVote(post_id=ids[0], member_id=ids[1], option=0, created_at=now))
        else:
            session.add(HelpOffer(post_id=ids[0], member_id=ids[1], message="",
                                  status="offered", created_at=now))
    for reporter, target, index in scenario.reports:
        report = Report(post_id=out.posts[index] if target == "post" else None,
                        comment_id=out.comments[index] if target == "comment" else None,
                        reporter_id=out.members[reporter], category="spam", details="",
                        status="open", created_at=now)
        session.add(report)
        session.flush()
        out.reports.append(report.id)
    for index in sorted(scenario.appeals):
        author = scenario.posts[index].author
        assert author is not None
        appeal = Appeal(post_id=out.posts[index], author_id=out.members[author], text="svp",
                        status="open", created_at=now)
        session.add(appeal)
        session.flush()
        out.appeals[index] = appeal.id


def _incidents(database: Database, scenario: Scenario, out: Written, now: datetime) -> None:
    """Each incident through the alarm book, as the rules engine raises them."""
    for k, incident in enumerate(scenario.incidents):
        title = f"{WORD} alarme{k}"
        action = RaiseAlarm(
            rule_id=f"rule-{k}", device_id=f"device-{k}", place_id=incident.device_place,
            building_id=incident.building, severity="major", title={"fr": title},
            at=(now - timedelta(minutes=5)).timestamp(),
            post=(PostDraft(incident.post[0], incident.post[1], {"fr": f"{title} post"})
                  if incident.post else None),
            notice=(NoticeDraft(incident.notice_unit, {"fr": f"{title} avis"})
                    if incident.notice_unit else None),
            help_request=(PostDraft(incident.help_place, "help_request",
                                    {"fr": f"{title} aide"}) if incident.help_place else None),
            quiet_hours_apply=False,
        )
        with database.session() as session:
            AlarmBook().apply(session, [action])
            session.commit()
            alarm_id = session.scalar(
                text("SELECT id FROM alarms WHERE rule_id = :rule"), {"rule": f"rule-{k}"})
            assert alarm_id is not None
            out.alarms.append((alarm_id, incident.building))
            for place, kind in (incident.post or (None, None),
                                (incident.help_place, "help_request")):
                if place is None:
                    continue
                post_id = session.scalar(text(
                    "SELECT id FROM posts WHERE alarm_id = :alarm AND kind = :kind"),
                    {"alarm": alarm_id, "kind": kind})
                assert post_id is not None, (k, kind)
                out.rule_posts.append(Writing(place, kind, None, False, False))
                out.rule_post_ids.append(post_id)


# -- the oracle --------------------------------------------------------------------------


@dataclass(frozen=True)
class PostView:
    """A post as the oracle knows it: from the scenario, never from the database."""

    id: int
    place: str
    kind: str
    author: int | None  # member index
    residents_only: bool
    hidden: bool


class Oracle:
    """What each member may read, from the drawn tree and memberships alone."""

    def __init__(self, scenario: Scenario, out: Written) -> None:
        self.s, self.out, self.site = scenario, out, scenario.site
        self.posts = [PostView(out.posts[i], w.place, w.kind, w.author, w.residents_only,
                            w.hidden) for i, w in enumerate(scenario.posts)]
        self.posts += [PostView(pid, w.place, w.kind, None, False, False)
                       for pid, w in zip(out.rule_post_ids, out.rule_posts, strict=True)]
        self.by_id = {p.id: p for p in self.posts}

    def current(self, m: int) -> list[Tie]:
        return [tie for tie in self.s.people[m].ties if tie.current]

    def circles(self, m: int, *, except_roles: Sequence[str] = ()) -> set[str]:
        found = set()
        for tie in self.current(m):
            if tie.role in except_roles:
                continue
            for place in self.site.ancestors(tie.place):
                if tie.role not in LOCAL_ACTORS or self.site.kinds[place] in (
                        "neighbourhood", "city"):
                    found.add(place)
        return found

    def managed(self, m: int) -> set[str]:
        return {b for tie in self.current(m) if tie.role in MANAGERS
                for b in [self.site.building_of(tie.place)] if b is not None}

    def managed_parts(self, m: int) -> set[str]:
        buildings = self.managed(m)
        return {p for p in self.site.kinds if self.site.kinds[p] in SHARED_PARTS
                and self.site.building_of(p) in buildings}

    def blocked(self, m: int) -> int | None:
        target = self.s.people[m].blocks
        return target if target != m else None

    def place_reads(self, m: int, post: PostView) -> bool:
        """The visibility rule alone, before moderation and blocks."""
        if post.place in self.circles(m):
            return not post.residents_only or post.place in self.circles(
                m, except_roles=NOT_RESIDENTS)
        official = post.kind == "notice" or post.author is None or post.author == m
        return (post.place in self.managed_parts(m) and official
                and not post.residents_only)

    def reads(self, m: int, post: PostView) -> bool:
        return (self.place_reads(m, post) and (not post.hidden or post.author == m)
                and (post.author is None or post.author != self.blocked(m)))

    def feed(self, m: int) -> set[int]:
        return {p.id for p in self.posts if self.reads(m, p)}

    def comments(self, m: int, post: PostView) -> set[int]:
        return {self.out.comments[j] for j, c in enumerate(self.s.comments)
                if self.out.posts[c.post] == post.id and (not c.hidden or c.author == m)
                and c.author != self.blocked(m)}

    def search(self, m: int) -> tuple[set[int], set[int]]:
        posts = {p.id for p in self.posts if self.place_reads(m, p) and not p.hidden
                 and (p.author is None or p.author != self.blocked(m))}
        comments = {self.out.comments[j] for j, c in enumerate(self.s.comments)
                    if self.out.posts[c.post] in posts and not c.hidden
                    and c.author != self.blocked(m)}
        return posts, comments

    def requester(self, m: int, post: PostView) -> bool:
        building = self.site.building_of(post.place)
        return post.author == m or (post.author is None and building in self.managed(m))

    def offers(self, m: int, post: PostView) -> set[int]:
        """Helpers' member indexes whose offers ``m`` sees on ``post``."""
        index = self.out.posts.index(post.id) if post.id in self.out.posts else None
        helpers = {h for p, h in self.s.answers if p == index}
        return helpers if self.requester(m, post) else helpers & {m}

    def unread(self, m: int) -> dict[str, int]:
        counts = Counter({kind: 0 for kind in (
            "unit", "floor", "entrance", "building", "neighbourhood", "city")})
        read = {self.out.posts[p] for p, who in self.s.reads if who == m}
        for post in self.posts:
            if self.reads(m, post) and post.author != m and post.id not in read:
                counts[self.site.kinds[post.place]] += 1
        return dict(counts)

    def members(self, m: int) -> set[int]:
        mine = {b for tie in self.current(m) if tie.role not in LOCAL_ACTORS
                for b in [self.site.building_of(tie.place)] if b is not None}
        circles = self.circles(m)
        seen = {m}
        for x in range(len(self.s.people)):
            for tie in self.current(x):
                if tie.role not in LOCAL_ACTORS and self.site.building_of(tie.place) in mine:
                    seen.add(x)
                if self.site.kinds[tie.place] in ("neighbourhood", "city") and (
                        tie.place in circles):
                    seen.add(x)
        return seen

    def members_at(self, place: str) -> set[int]:
        return {x for x in range(len(self.s.people)) for tie in self.current(x)
                if place in self.site.ancestors(tie.place)}

    def alarms(self, m: int) -> set[int]:
        return {alarm for alarm, building in self.out.alarms if building in self.managed(m)}

    def notifications(self, m: int) -> Counter[str]:
        titles: Counter[str] = Counter()
        for k, incident in enumerate(self.s.incidents):
            title = f"{WORD} alarme{k}"
            if incident.building in self.managed(m):
                titles[title] += 1
            if incident.notice_unit and any(
                    tie.place == incident.notice_unit and tie.role in RESIDENTS
                    for tie in self.current(m)):
                titles[f"{title} avis"] += 1
            if incident.help_place and any(
                    incident.help_place in self.site.ancestors(tie.place)
                    and tie.role in RESIDENTS for tie in self.current(m)):
                titles[f"{title} aide"] += 1
        return titles

    def tickets(self, m: int) -> set[int]:
        return {p.id for p in self.posts if p.kind == "problem_report"
                and p.place in self.managed(m) and self.reads(m, p)}

    def log(self, m: int) -> set[tuple[int, int | None]]:
        """(post, comment) of the moderation log entries ``m`` reads."""
        entries = [(p.id, None, p) for p in self.posts if p.hidden] + [
            (self.out.posts[c.post], self.out.comments[j], self.by_id[self.out.posts[c.post]])
            for j, c in enumerate(self.s.comments) if c.hidden]
        circles, resident = self.circles(m), self.circles(m, except_roles=NOT_RESIDENTS)
        return {(pid, cid) for pid, cid, post in entries if post.place in circles
                and (not post.residents_only or post.place in resident)}

    def moderates(self, m: int) -> bool:
        return bool(self.managed(m)) or any(
            tie.role in ("moderator", "admin") for tie in self.current(m))

    def in_scope(self, m: int, post: PostView) -> bool:
        if any(tie.role == "admin" for tie in self.current(m)):
            return True
        below = {tie.place for tie in self.current(m) if tie.role == "moderator"}
        if below & set(self.site.ancestors(post.place)):
            return True
        return (not post.residents_only
                and self.site.building_of(post.place) in self.managed(m))

    def reports(self, m: int) -> set[int]:
        found = set()
        for report_id, (_reporter, target, index) in zip(self.out.reports, self.s.reports,
                                                         strict=True):
            post_index = index if target == "post" else self.s.comments[index].post
            if self.in_scope(m, self.posts[post_index]):
                found.add(report_id)
        return found

    def appeals(self, m: int) -> set[int]:
        return {appeal for index, appeal in self.out.appeals.items()
                if self.in_scope(m, self.posts[index])}


# -- reading it through the API ----------------------------------------------------------


class Reader:
    """One member's HTTP calls."""

    def __init__(self, client: TestClient, headers: dict[str, str]) -> None:
        self.client, self.headers = client, headers

    def get(self, path: str, **params: Any) -> Any:
        response = self.client.get(path, params=params, headers=self.headers)
        assert response.status_code < 500, response.text
        return response

    def pages(self, path: str, *, key: str = "id", **params: Any) -> list[Any]:
        """Every item of a paginated list, following ``next_cursor``."""
        found: list[Any] = []
        cursor = None
        for _ in range(200):
            response = self.get(path, **params, **({"cursor": cursor} if cursor else {}))
            assert response.status_code == 200, (path, response.text)
            body = response.json()
            found += [item[key] if key else item for item in body["items"]]
            cursor = body.get("next_cursor")
            if not cursor:
                return found
        raise AssertionError(f"{path} never stopped paging")


def ids(items: Sequence[int]) -> set[int]:
    assert len(items) == len(set(items)), f"an item came twice: {items}"
    return set(items)


def check_member(reader: Reader, oracle: Oracle, m: int, who: str) -> None:
    """Everything ``m`` may read, through every read endpoint, against the oracle."""
    s, out = oracle.s, oracle.out
    feed = oracle.feed(m)
    assert ids(reader.pages("/api/feed", limit=3)) == feed, who

    for place in sorted({*s.probes, s.people[m].ties[0].place}):
        response = reader.get("/api/feed", place=place, limit=100)
        if place in oracle.circles(m) | oracle.managed_parts(m):
            assert response.status_code == 200, (who, place, response.text)
            got = {item["id"] for item in response.json()["items"]}
            assert got == {p for p in feed if oracle.by_id[p].place == place}, (who, place)
        else:
            assert response.status_code == 404, (who, place, response.text)
        response = reader.get("/api/members", place=place, limit=100)
        if place in oracle.circles(m):
            assert response.status_code == 200, (who, place, response.text)
            got = {item["id"] for item in response.json()["items"]}
            want = oracle.members(m) & oracle.members_at(place)
            assert got == {out.members[x] for x in want}, (who, place)
        else:
            assert response.status_code == 404, (who, place, response.text)
    kinds = sorted({p.kind for p in oracle.posts[:2]})
    got = ids(reader.pages("/api/feed", kind=kinds, limit=100))
    assert got == {p for p in feed if oracle.by_id[p].kind in kinds}, (who, kinds)

    for post in oracle.posts:
        _check_post(reader, oracle, m, post, who)

    posts, comments = oracle.search(m)
    hits = reader.pages("/api/search", key="", q=WORD, limit=50)
    assert ids([h["post_id"] for h in hits if h["type"] == "post"]) == posts, who
    assert ids([h["comment_id"] for h in hits if h["type"] == "comment"]) == comments, who

    members = oracle.members(m)
    assert ids(reader.pages("/api/members", limit=100)) == {out.members[x] for x in members}
    for x, member_id in enumerate(out.members):
        status = reader.get(f"/api/members/{member_id}").status_code
        assert status == (200 if x in members else 404), (who, x)

    response = reader.get("/api/alarms", state="all")
    if oracle.managed(m):
        assert response.status_code == 200, (who, response.text)
        assert ids([a["id"] for a in response.json()["items"]]) == oracle.alarms(m), who
    else:
        assert response.status_code == 403, (who, response.text)
    for alarm, _building in out.alarms:
        status = reader.get(f"/api/alarms/{alarm}/explain")
        assert status.status_code == (200 if alarm in oracle.alarms(m) else 404), who

    notes = reader.get("/api/notifications", limit=200).json()["items"]
    assert Counter(n["title"] for n in notes) == oracle.notifications(m), who
    unread = reader.get("/api/unread").json()
    want = oracle.unread(m)
    assert unread == {"circles": want, "total": sum(want.values())}, who

    response = reader.get("/api/tickets", state="all", limit=100)
    if oracle.managed(m):
        assert response.status_code == 200, (who, response.text)
        assert ids([t["id"] for t in response.json()["items"]]) == oracle.tickets(m), who
    else:
        assert response.status_code == 403, (who, response.text)

    log = reader.pages("/api/moderation/log", key="", limit=100)
    assert {(e["post_id"], e["comment_id"]) for e in log} == oracle.log(m), who
    for path, want_ids in (("/api/moderation/reports", oracle.reports(m)),
                           ("/api/moderation/appeals", oracle.appeals(m))):
        response = reader.get(path, limit=100)
        if oracle.moderates(m):
            assert response.status_code == 200, (who, path, response.text)
            assert ids([r["id"] for r in response.json()["items"]]) == want_ids, (who, path)
        else:
            assert response.status_code == 403, (who, path, response.text)

    export = reader.get("/api/me/export").json()
    assert ids([p["id"] for p in export["posts"]]) == {
        p.id for p in oracle.posts if p.author == m}, who
    assert ids([c["id"] for c in export["comments"]]) == {
        out.comments[j] for j, c in enumerate(s.comments) if c.author == m}, who
    assert ids([r["post_id"] for r in export["reactions"]]) == {
        out.posts[p] for p, x in s.reactions if x == m}, who
    assert ids([n["id"] for n in export["notifications"]]) == {n["id"] for n in notes}, who


def _check_post(reader: Reader, oracle: Oracle, m: int, post: PostView, who: str) -> None:
    readable = oracle.reads(m, post)
    where = (who, post)
    response = reader.get(f"/api/posts/{post.id}")
    assert response.status_code == (200 if readable else 404), (*where, response.text)
    response = reader.get(f"/api/posts/{post.id}/comments", limit=100)
    assert response.status_code == (200 if readable else 404), (*where, response.text)
    if readable:
        got = ids([c["id"] for c in response.json()["items"]])
        assert got == oracle.comments(m, post), where
    sub = {"notice": "receipts", "event": "rsvp", "poll": "results",
           "help_request": "offers"}.get(post.kind)
    if sub is not None:
        response = reader.get(f"/api/posts/{post.id}/{sub}")
        # Not found, else not the member's to ask (receipts are the managers'), else
        # a hidden post (read by its author only) takes no RSVP, vote or receipt.
        if not readable:
            want = 404
        elif sub == "receipts" and oracle.site.building_of(post.place) not in oracle.managed(m):
            want = 403
        elif post.hidden and sub != "offers":
            want = 409
        else:
            want = 200
        assert response.status_code == want, (*where, sub, response.text)
        if readable and sub == "offers":
            got = ids([o["helper"]["id"] for o in response.json()["items"]])
            assert got == {oracle.out.members[h] for h in oracle.offers(m, post)}, where
    if post.hidden or post.author == m:
        response = reader.get(f"/api/posts/{post.id}/moderation")
        assert response.status_code == (200 if post.author == m else 404), where
    if post.residents_only and oracle.managed(m) and not oracle.in_scope(m, post):
        # Managers do not moderate the residents-only space: not even "already hidden".
        response = reader.client.post(f"/api/moderation/posts/{post.id}/hide",
                                      json={"reason": "test"}, headers=reader.headers)
        assert response.status_code == 404, (*where, response.text)


def _describe(oracle: Oracle, m: int) -> str:
    return f"member {m} {oracle.s.people[m].ties}"


@pytest.fixture
def client(database: Database) -> Iterator[TestClient]:
    with TestClient(create_app(database)) as client:
        yield client


def test_no_read_endpoint_shows_anything_outside_the_rule(
    database: Database, client: TestClient
) -> None:
    @PROPERTY
    @given(scenario=scenarios())
    def check(scenario: Scenario) -> None:
        note(repr(scenario))
        now = utcnow()
        out = write(database, scenario, now)
        oracle = Oracle(scenario, out)
        for m, member_id in enumerate(out.members):
            reader = Reader(client, bearer(database, member_id))
            check_member(reader, oracle, m, _describe(oracle, m))

    check()


# -- the managers' reach, example by example ---------------------------------------------


def test_a_manager_reads_back_the_notice_they_pinned_at_an_entrance(
    database: Database, world: World, client: TestClient
) -> None:
    syndic, alice = bearer(database, world.manager), bearer(database, world.resident)
    notice = created(publish(client, syndic, "lilas/b", "notice", title="Coupure d'eau"))
    a_only = created(publish(client, syndic, "lilas/a", "notice", title="Entrée A"))
    assert client.get(f"/api/posts/{notice}", headers=syndic).status_code == 200
    assert client.get(f"/api/posts/{notice}/receipts", headers=syndic).status_code == 200
    entrance = client.get("/api/feed", params={"place": "lilas/b"}, headers=syndic)
    assert [item["id"] for item in entrance.json()["items"]] == [notice]
    assert client.get(f"/api/posts/{notice}", headers=alice).status_code == 200
    assert client.get(f"/api/posts/{a_only}", headers=alice).status_code == 404
    # A resident's message at the same entrance stays among its residents.
    message = created(publish(client, alice, "lilas/b", "message", title="Perceuse ?"))
    assert client.get(f"/api/posts/{message}", headers=syndic).status_code == 404


def test_a_manager_learns_nothing_of_a_flats_private_notice(
    database: Database, world: World, client: TestClient
) -> None:
    """Regression: receipts were the managers' "by right", read or not, so a syndic got
    200 and the household's read count for a notice scoped to a flat of the building."""
    with database.session() as session:
        private = create_post(session, "lilas/b/3/31", {"fr": {"title": "Colis", "body": ""}},
                              kind="notice")
        session.commit()
    syndic, alice = bearer(database, world.manager), bearer(database, world.resident)
    for path in (f"/api/posts/{private.id}", f"/api/posts/{private.id}/receipts",
                 f"/api/posts/{private.id}/comments"):
        assert client.get(path, headers=syndic).status_code == 404, path
    assert client.get(f"/api/posts/{private.id}", headers=alice).status_code == 200
    assert client.get(f"/api/posts/{private.id}/receipts", headers=alice).status_code == 403


# -- the live stream ---------------------------------------------------------------------


@dataclass
class Listener:
    """One member's open ``/api/stream``: SSE events read off the wire, in order."""

    lines: Iterator[str]

    def until_marker(self, timeout: float = 20.0) -> list[tuple[str, dict[str, Any]]]:
        """The events up to the next ``unread.changed`` (which the marker causes).

        Heartbeats keep lines coming, so a marker that never comes fails in time.
        """
        events: list[tuple[str, dict[str, Any]]] = []
        fields: dict[str, str] = {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = next(self.lines)
            if line.startswith(":"):
                continue
            if line:
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
                continue
            if "data" in fields:
                event = (fields.get("event", "message"), json.loads(fields["data"]))
                if event[0] == "unread.changed":
                    return events
                events.append(event)
            fields = {}
        raise AssertionError(f"no unread.changed within {timeout} s: {events}")


def _stream_writes(database: Database, scenario: Scenario, out: Written,
                   now: datetime) -> tuple[list[PostView], list[tuple[int, int]]]:
    """Posts and comments written while everyone listens; returns what the oracle needs.

    Besides the drawn posts, one of each telling sort at every place of the site: a
    member's message, the same restricted to residents (inside a building), an
    official notice, a rules-engine alert — so that every member meets every place.
    """
    writings = [w for w in scenario.posts if not w.hidden]  # hidden at birth: never told
    for place, kind in sorted(scenario.site.kinds.items()):
        writings += [Writing(place, "message", 0, False, False),
                     Writing(place, "notice", None, False, False),
                     Writing(place, "alert", None, False, False)]
        if kind in BUILDING_SPACE:
            writings.append(Writing(place, "message", 0, True, False))
    fresh: list[PostView] = []
    with database.session() as session:
        for i, writing in enumerate(writings):
            post_id = _post(session, out, writing, now + timedelta(milliseconds=i))
            fresh.append(PostView(post_id, writing.place, writing.kind, writing.author,
                                  writing.residents_only, False))
        session.commit()
        commented = []
        for post in fresh[:2]:
            comment = Comment(post_id=post.id, author_id=None, body=f"{WORD} live",
                              created_at=now)
            session.add(comment)
            session.commit()
            commented.append((post.id, comment.id))
    return fresh, commented


def test_the_stream_carries_each_new_post_to_exactly_its_readers(
    database: Database, client: TestClient
) -> None:
    from social.stream import StreamSettings

    # A marker per member (below) rather than a wait: unread counts only on demand,
    # heartbeats rarely, so that nothing but the marker produces an unread.changed.
    client.app.state.stream_settings = StreamSettings(  # type: ignore[attr-defined]
        heartbeat=2.0, refresh=600.0, unread_delay=3600.0)

    @STREAM_PROPERTY
    @given(scenario=scenarios(interactions=False))
    def check(scenario: Scenario) -> None:
        note(repr(scenario))
        now = utcnow()
        quiet = Scenario(scenario.site, scenario.people, (), (), frozenset(), frozenset(),
                         frozenset(), (), frozenset(), (), scenario.probes)
        out = write(database, quiet, now)
        with ExitStack() as stack:
            listeners = []
            for member_id in out.members:
                response = stack.enter_context(client.stream(
                    "GET", "/api/stream", headers=bearer(database, member_id)))
                assert response.status_code == 200, response.read()
                listener = Listener(response.iter_lines())
                assert listener.until_marker() == []  # subscribed: its first counts came
                listeners.append(listener)

            fresh, commented = _stream_writes(database, scenario, out, now)
            _incidents(database, scenario, out, now)
            with database.session() as session:  # the marker: each member's own event
                session.execute(update(Membership).where(Membership.member_id.in_(
                    out.members)).values(on_call=Membership.on_call))
                session.commit()

            oracle = Oracle(quiet, out)
            rule_posts = [PostView(pid, w.place, w.kind, None, False, False)
                          for pid, w in zip(out.rule_post_ids, out.rule_posts, strict=True)]
            for m, listener in enumerate(listeners):
                events = listener.until_marker()
                who = _describe(oracle, m)
                got = [e["post"]["id"] for t, e in events if t == "post.created"]
                want = [p.id for p in [*fresh, *rule_posts] if oracle.reads(m, p)]
                assert sorted(got) == sorted(want), who
                got_comments = [e["comment"]["id"] for t, e in events
                                if t == "comment.created"]
                want_comments = [c for p, c in commented if p in set(want)]
                assert got_comments == want_comments, who
                updated = {e["post"]["id"] for t, e in events if t == "post.updated"}
                assert updated <= set(want), (who, updated)
                got_alarms = {e["alarm"]["id"] for t, e in events if t == "alarm.raised"}
                assert got_alarms == oracle.alarms(m), who
                leaked = {t for t, _e in events} - {"post.created", "comment.created",
                                                     "alarm.raised", "post.updated"}
                assert not leaked, (who, leaked)

    check()
