"""Generate ``tests/social/test_rights_matrix.py`` from the rights matrix.

    .venv/bin/python -m tests.social.generate_rights_matrix [--check]

The expected answers are computed here, from ``social.rights.CREATE`` and
``social.rights.ACTIONS`` and a plain-Python model of the test site (who lives
where, which place is above which) — never through the SQL that the API runs — and
frozen into the generated file as literal tables. The generated tests then ask the
real API, on SQLite and PostgreSQL, and compare. A change to the matrix therefore
shows up twice for review: in ``docs/rights-matrix.md`` and in the tables of the
generated test, and both files have a test that fails while they are stale.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from social.models import POST_KINDS
from social.rights import ACTIONS, CREATE, ROLES
from social.visibility import LOCAL_ACTOR_ROLES, MANAGER_ROLES, RESIDENT_ROLES

OUT = Path(__file__).resolve().parent / "test_rights_matrix.py"

#: The test site's places the matrix looks at, with their kind and parent.
PLACES: dict[str, tuple[str, str | None]] = {
    "evry": ("city", None),
    "pyramides": ("neighbourhood", "evry"),
    "canal": ("neighbourhood", "evry"),
    "lilas": ("building", "pyramides"),
    "lilas/b": ("entrance", "lilas"),
    "lilas/b/3": ("floor", "lilas/b"),
    "lilas/b/3/31": ("unit", "lilas/b/3"),
    "lilas/b/3/32": ("unit", "lilas/b/3"),
    "tilleuls": ("building", "pyramides"),
    "tilleuls/a": ("entrance", "tilleuls"),
    "tilleuls/a/1": ("floor", "tilleuls/a"),
    "tilleuls/a/1/11": ("unit", "tilleuls/a/1"),
}

#: Where each role's member holds their one membership.
HOMES: dict[str, str] = {
    **dict.fromkeys(sorted(RESIDENT_ROLES), "lilas/b/3/31"),
    **dict.fromkeys(sorted(MANAGER_ROLES), "lilas"),
    "installer": "lilas",
    **dict.fromkeys(sorted(LOCAL_ACTOR_ROLES), "pyramides"),
    "moderator": "pyramides",
    "admin": "evry",
}

#: The places posts are created at: the resident's own circles, then another branch.
TARGETS: tuple[str, ...] = (
    "lilas/b/3/31", "lilas/b/3", "lilas/b", "lilas", "pyramides", "evry",
    "tilleuls/a/1/11", "tilleuls/a/1", "tilleuls/a", "tilleuls", "canal",
)
HEADER = ("unit", "floor", "entr", "bldg", "hood", "city",
          "o.unit", "o.flr", "o.ent", "o.bld", "canal")

#: The post every action is tried on lives in the building; its author is a resident
#: of another unit of it (so the role members below are never its author).
ACTION_PLACE = "lilas"
#: What each action answers when allowed.
SUCCESS: dict[str, int] = {
    "read": 200, "comment": 201, "react": 200, "still_happening": 200, "me_too": 200,
    "rsvp": 200, "vote": 201, "offer_help": 201, "update_status": 200, "link_alarm": 200,
    "receipts": 200, "vouch": 200,
}
#: Actions that hinge on who the member *is* (the author, the requester) rather than on
#: their role: tested by name in test_posts.py and test_interactions.py.
BY_IDENTITY = ("accept_offer", "edit", "widen")


def _chain(place: str) -> list[str]:
    chain: list[str] = []
    current: str | None = place
    while current is not None:
        chain.append(current)
        current = PLACES[current][1]
    return chain


def _building(place: str) -> str | None:
    return next((p for p in _chain(place) if PLACES[p][0] == "building"), None)


def reads(role: str, target: str) -> bool:
    """The visibility rule, by hand: the home or above; never a building for local actors."""
    in_chain = target in _chain(HOMES[role])
    return in_chain and (role not in LOCAL_ACTOR_ROLES
                         or PLACES[target][0] in ("neighbourhood", "city"))


def manages(role: str, target: str) -> bool:
    building = _building(HOMES[role])
    return role in MANAGER_ROLES and building is not None and building in _chain(target)


def expected_create(role: str, target: str, kind: str) -> int:
    for grant in CREATE[kind].create:
        reached = reads(role, target) if grant.reach == "circles" else manages(role, target)
        if role in grant.who.roles and PLACES[target][0] in grant.at and reached:
            return 201
    if not reads(role, target) and not manages(role, target):
        return 404
    return 403


def expected_action(role: str, action: str) -> int:
    who = ACTIONS[action].who
    readable = reads(role, ACTION_PLACE)
    resident = role in RESIDENT_ROLES
    if who == "neighbour":
        if not resident:
            return 403
        return SUCCESS[action] if _building(HOMES[role]) == ACTION_PLACE else 404
    if who == "building_manager":
        if manages(role, ACTION_PLACE):
            return SUCCESS[action]
        return 403 if readable else 404
    if not readable:
        return 404
    if who in ("resident_reader", "resident_reader_not_author") and not resident:
        return 403
    return SUCCESS[action]


def _row(name: str, values: Sequence[int], width: int) -> str:
    cells = ", ".join(f"{value:>5}" for value in values)
    return f"        {name + ':':<{width}} ({cells}),"


def render() -> str:
    width = max(len(kind) for kind in POST_KINDS) + 3
    lines = []
    for role in ROLES:
        lines.append(f'    "{role}": {{  # member at {HOMES[role]}')
        lines.append(f"        {'#':<{width}}  " + " ".join(f"{h:>6}" for h in HEADER))
        for kind in POST_KINDS:
            lines.append(_row(f'"{kind}"', [expected_create(role, t, kind) for t in TARGETS],
                              width))
        lines.append("    },")
    actions = [action for action in ACTIONS if action not in BY_IDENTITY]
    awidth = max(len(role) for role in ROLES) + 3
    action_lines = [f"    {'#':<{awidth}} " + " ".join(f"{a[:7]:>7}" for a in actions)]
    for role in ROLES:
        cells = ", ".join(f"{expected_action(role, a):>6}" for a in actions)
        action_lines.append(f"    {chr(34) + role + chr(34) + ':':<{awidth}} ({cells}),")
    return (TEMPLATE
            .replace("@HOMES@", repr(HOMES))
            .replace("@TARGETS@", repr(TARGETS))
            .replace("@CREATE@", "\n".join(lines))
            .replace("@ACTIONS_ORDER@", repr(tuple(actions)))
            .replace("@ACTION_PLACE@", repr(ACTION_PLACE))
            .replace("@ACTIONS@", "\n".join(action_lines)))


TEMPLATE = '''"""GENERATED from social/rights.py: do not edit.

Written by tests/social/generate_rights_matrix.py; regenerate with
``.venv/bin/python -m tests.social.generate_rights_matrix``. The last test here fails
while this file is stale.

Every role × scope × post kind is created through the real API, on SQLite and on
PostgreSQL, and the answer compared with the table: 201 created, 403 refused with a
reason, 404 when the place is not one the member may read. Then every role tries
every role-dependent action on a post of the building (the author-only actions are
tested by name elsewhere). The expected answers were computed by the generator from
the matrix and a plain model of the site, not by the code under test.
"""

# ruff: noqa: E501

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from rules.actions import RaiseAlarm
from social.accounts import issue_token
from social.alarms import AlarmBook
from social.api import create_app
from social.db import Database
from social.models import Member, Membership, utcnow
from social.places import sync_places
from social.post_kinds import example_data, initial_data, validate_data
from social.posts import create_post
from social.site import SiteFile, expand_site
from tests.social import generate_rights_matrix

SITE = {
    "city": {"id": "evry", "name": "Évry-Courcouronnes"},
    "neighbourhoods": [
        {"id": "pyramides", "name": "Les Pyramides", "buildings": [
            {"id": "lilas", "name": "Résidence Les Lilas",
             "entrances": {"b": {"floors": 4, "units_per_floor": 2}}},
            {"id": "tilleuls", "name": "Les Tilleuls",
             "entrances": {"a": {"floors": 2, "units_per_floor": 1}}},
        ]},
        {"id": "canal", "name": "Le Canal"},
    ],
}
HOMES = @HOMES@
TARGETS = @TARGETS@

#: role -> kind -> the expected status at each of TARGETS.
CREATE = {
@CREATE@
}

ACTIONS = @ACTIONS_ORDER@
ACTION_PLACE = @ACTION_PLACE@
#: role -> the expected status of each of ACTIONS.
ACT = {
@ACTIONS@
}


@dataclass
class Matrix:
    database: Database
    client: TestClient
    author: int
    alarm_id: int

    def member(self, role: str, name: str) -> dict[str, str]:
        """A fresh member holding ``role`` at the role's home, and their bearer header.

        Fresh for every test: posting rate limits and one-vote rules stay per test.
        """
        with self.database.session() as session:
            member = _member(session, f"{name}-{uuid.uuid4().hex[:6]}", HOMES[role], role)
            token = issue_token(session, member).token
            session.commit()
        return {"Authorization": f"Bearer {token}"}


def _member(session: Session, username: str, place: str, role: str) -> Member:
    now = utcnow()
    member = Member(username=username[:64], display_name=username.title(),
                    password_hash="-", language="fr", created_at=now)
    session.add(member)
    session.flush()
    session.add(Membership(member_id=member.id, place_id=place, role=role, verified=True,
                           started_at=now - timedelta(days=30)))
    session.flush()
    return member


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def matrix(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    """One site per backend for the whole module: every test brings its own members."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("matrix") / "palier.sqlite3"
        database = Database(f"sqlite:///{path}")
    else:
        database = Database(request.getfixturevalue("postgres_server").fresh_database())
    database.migrate()
    with database.session() as session:
        sync_places(session, expand_site(SiteFile.model_validate(SITE)))
        author = _member(session, "autrice", "lilas/b/3/32", "resident").id
        [change] = AlarmBook().apply(session, [RaiseAlarm(
            rule_id="lift", device_id="lift-lilas-b", place_id="lilas/b", building_id="lilas",
            severity="major", title={"fr": "Ascenseur en panne"}, at=utcnow().timestamp())])
        session.commit()
    with TestClient(create_app(database)) as client:
        yield Matrix(database, client, author, change.alarm_id)
    database.dispose()


def _post(matrix: Matrix, kind: str, *, author: int | None) -> int:
    now = utcnow()
    data = validate_data(kind, example_data(kind, now), now=now)
    with matrix.database.session() as session:
        post = create_post(session, ACTION_PLACE, {"fr": {"title": kind, "body": ""}},
                           kind=kind, author_id=author, at=now,
                           data=initial_data(kind, data, now=now, author_id=author),
                           **data.columns())
        session.commit()
        return post.id


#: How each action is asked: the kind of post it is tried on, the method, the path after
#: /api/posts/{id}, and the body (ALARM stands for the building's alarm).
ALARM = "alarm"
REQUESTS: dict[str, tuple[str, str, str, dict[str, object] | None]] = {
    "read": ("message", "POST", "read", None),
    "comment": ("message", "POST", "comments", {"body": "Merci !"}),
    "react": ("message", "POST", "reactions", {"kind": "like"}),
    "still_happening": ("alert", "POST", "reactions", {"kind": "still_happening"}),
    "me_too": ("problem_report", "POST", "reactions", {"kind": "me_too"}),
    "rsvp": ("event", "PUT", "rsvp", {"answer": "yes"}),
    "vote": ("poll", "POST", "votes", {"option": 0}),
    "offer_help": ("help_request", "POST", "offers", {}),
    "update_status": ("problem_report", "POST", "status", {"status": "in_progress"}),
    "link_alarm": ("problem_report", "POST", "link-alarm", {"alarm_id": ALARM}),
    "receipts": ("notice", "GET", "receipts", None),
}


@pytest.mark.parametrize(("role", "kind"), [(r, k) for r in CREATE for k in CREATE[r]])
def test_create(matrix: Matrix, role: str, kind: str) -> None:
    headers = matrix.member(role, f"{role}-{kind}")
    data = example_data(kind, utcnow())
    wrong = []
    for target, expected in zip(TARGETS, CREATE[role][kind], strict=True):
        response = matrix.client.post("/api/posts", headers=headers, json={
            "place": target, "kind": kind, "title": f"{kind} @ {target}", "data": data})
        if response.status_code != expected:
            wrong.append(f"{target}: expected {expected}, got {response.status_code} "
                         f"{response.text[:200]}")
        elif expected == 403:
            assert response.json()["code"], response.text
    assert not wrong, f"{role} creating {kind}:\\n" + "\\n".join(wrong)


@pytest.mark.parametrize(("role", "action"), [(r, a) for r in ACT for a in ACTIONS])
def test_action(matrix: Matrix, role: str, action: str) -> None:
    headers = matrix.member(role, f"{role}-{action}")
    expected = ACT[role][ACTIONS.index(action)]
    if action == "vouch":
        response = matrix.client.post(f"/api/members/{matrix.author}/vouch",
                                      json={"service": "babysitting"}, headers=headers)
    else:
        kind, method, path, body = REQUESTS[action]
        post_id = _post(matrix, kind, author=None if kind == "alert" else matrix.author)
        if body is not None:
            body = {k: matrix.alarm_id if v == ALARM else v for k, v in body.items()}
        response = matrix.client.request(method, f"/api/posts/{post_id}/{path}", json=body,
                                         headers=headers)
    assert response.status_code == expected, (
        f"{role} {action}: expected {expected}, got {response.status_code} {response.text}")


def test_this_file_is_generated_from_the_current_matrix() -> None:
    current = Path(__file__).read_text(encoding="utf-8")
    assert current == generate_rights_matrix.render(), (
        "tests/social/test_rights_matrix.py is stale: run "
        ".venv/bin/python -m tests.social.generate_rights_matrix"
    )
'''


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.social.generate_rights_matrix")
    parser.add_argument("--check", action="store_true", help="fail if the file is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is stale", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
