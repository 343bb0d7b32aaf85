"""Joining and leaving, end to end over HTTP, on SQLite and PostgreSQL: invite codes,
join requests, the end of a membership; who may do each, and every way it can fail."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from social.api import create_app
from social.community_models import InviteCode
from social.db import Database
from social.errors import InvalidInviteCode, InviteUsed
from social.membership import CODE_ALPHABET, join_with_invite, new_code, normalise_code
from social.models import Member, Membership, utcnow
from tests.social.helpers import wait_until_blocked

if TYPE_CHECKING:
    from tests.social.conftest import World

UNIT = "lilas/b/3/31"
#: A flat of Les Lilas where nobody lives in the test world.
FREE_UNIT = "lilas/a/1/11"
CODE_SHAPE = re.compile(r"^[23456789ABCDEFGHJKMNPQRSTVWXYZ]{4}-[23456789ABCDEFGHJKMNPQRSTVWXYZ]{4}"
                        r"-[23456789ABCDEFGHJKMNPQRSTVWXYZ]{2}$")


@pytest.fixture
def client(
    database: Database, world: World, make_member: Callable[..., int]
) -> Iterator[TestClient]:
    with database.session() as session:
        make_member(session, "gerant", ("tilleuls", "manager"))  # another building's manager
        make_member(session, "cosyndic", ("lilas", "syndic"))
        session.commit()
    with TestClient(create_app(database)) as client:
        yield client


def login(client: TestClient, username: str, password: str = "secret") -> dict[str, str]:
    response = client.post("/api/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def issue(client: TestClient, unit: str = UNIT, as_: str = "syndic", **body: Any) -> Any:
    response = client.post(f"/api/places/{unit}/invites", json=body, headers=login(client, as_))
    assert response.status_code == 201, response.text
    return response.json()


def newcomer(code: str, username: str = "amelie", **changes: Any) -> dict[str, Any]:
    return {"code": code, "username": username, "password": "correct horse",
            "first_name": "Amélie", "last_name": "Rousseau", "language": "fr", **changes}


def member_id(database: Database, username: str) -> int:
    with database.session() as session:
        found = session.scalar(select(Member.id).where(Member.username == username))
    assert found is not None
    return found


# -- codes -------------------------------------------------------------------------------

def test_codes_are_short_unambiguous_and_forgiving_to_type() -> None:
    codes = {new_code() for _ in range(200)}

    assert len(codes) == 200
    assert all(CODE_SHAPE.match(code) for code in codes)
    assert not set("".join(codes)) & set("0O1IL U")
    assert set(CODE_ALPHABET) == set("".join(codes).replace("-", ""))  # every char is used
    assert normalise_code(" abcd efgh-jk ") == "ABCD-EFGH-JK"
    assert normalise_code("abcdefghjk") == "ABCD-EFGH-JK"
    for typo in ("ABCD-EFGH-J", "ABCD-EFGH-JKM", "ABCD-EFGH-J0", "ABCD-EFGH-IL"):
        with pytest.raises(InvalidInviteCode):
            normalise_code(typo)


# -- an invite code, from the manager's letter to the newcomer's first login ------------

def test_a_newcomer_joins_with_the_code_of_their_letter(client: TestClient) -> None:
    before = utcnow()
    invite = issue(client, role="owner")

    assert CODE_SHAPE.match(invite["code"])
    assert invite["link"] == f"/join?code={invite['code']}"
    assert invite["place"] == {"id": UNIT, "kind": "unit",
                               "name": "Résidence Les Lilas, Entrée B, appartement 31"}
    assert (invite["role"], invite["status"], invite["used_by"]) == ("owner", "active", None)
    expires = datetime.fromisoformat(invite["expires_at"].replace("Z", "+00:00"))
    assert timedelta(days=30) <= expires - before < timedelta(days=30, minutes=1)

    # The join page, before any login: where the code leads, and nothing else.
    page = client.get(f"/api/invites/{invite['code']}")
    assert page.status_code == 200
    assert page.json() == {"building": "Résidence Les Lilas", "unit": "Entrée B, appartement 31",
                           "name": "Résidence Les Lilas, Entrée B, appartement 31"}

    typed = invite["code"].lower().replace("-", " ")
    joined = client.post("/api/join", json=newcomer(typed))

    assert joined.status_code == 201, joined.text
    body = joined.json()
    assert body["member"]["username"] == "amelie"
    assert body["member"]["name"] == "Amélie R."
    assert [(m["place"]["id"], m["role"], m["verified"]) for m in body["member"]["memberships"]] \
        == [(UNIT, "owner", True)]
    headers = {"Authorization": f"Bearer {body['token']['access_token']}"}
    assert client.get("/api/me", headers=headers).json()["first_name"] == "Amélie"
    assert client.get("/api/feed", params={"place": "lilas/b"}, headers=headers).status_code == 200
    login(client, "amelie", "correct horse")

    listed = client.get(f"/api/places/{UNIT}/invites", headers=login(client, "syndic")).json()
    assert [(i["code"], i["status"], i["used_by"]["display_name"]) for i in listed["items"]] == [
        (invite["code"], "used", "Amélie R.")
    ]


def test_a_code_admits_one_person_only(client: TestClient) -> None:
    code = issue(client)["code"]
    assert client.post("/api/join", json=newcomer(code)).status_code == 201

    again = client.post("/api/join", json=newcomer(code, username="intrus"))
    page = client.get(f"/api/invites/{code}")

    message = (f"the invite code {code} was already used: a code admits one person; "
               "ask your manager for another")
    assert (again.status_code, again.json()) == (409, {"detail": message})
    assert (page.status_code, page.json()) == (409, {"detail": message})
    assert client.post("/api/auth/token",
                       data={"username": "intrus", "password": "correct horse"}).status_code == 401


def test_expired_and_revoked_codes_are_gone(client: TestClient, database: Database) -> None:
    expired = issue(client)["code"]
    revoked = issue(client)["code"]
    with database.session() as session:
        session.execute(update(InviteCode).where(InviteCode.code == expired)
                        .values(expires_at=utcnow() - timedelta(minutes=1)))
        session.commit()

    revoking = client.delete(f"/api/invites/{revoked}", headers=login(client, "syndic"))
    assert (revoking.status_code, revoking.json()["status"]) == (200, "revoked")
    assert client.delete(f"/api/invites/{revoked}",
                         headers=login(client, "syndic")).status_code == 200  # harmless twice

    too_late = client.post("/api/join", json=newcomer(expired))
    withdrawn = client.post("/api/join", json=newcomer(revoked))

    assert too_late.status_code == 410
    assert re.fullmatch(rf"the invite code {expired} expired on \d{{4}}-\d\d-\d\d: "
                        "ask your manager for a new one", too_late.json()["detail"])
    assert (withdrawn.status_code, withdrawn.json()) == (410, {
        "detail": f"the invite code {revoked} was revoked by the building's manager: "
                  "ask your manager for a new one"
    })
    assert client.get(f"/api/invites/{expired}").status_code == 410
    # The code is the gate: it is judged before anything about the account.
    assert client.post("/api/join", json=newcomer(expired, username="alice")).status_code == 410
    with database.session() as session:
        assert session.scalar(select(Member.id).where(Member.username == "amelie")) is None


def test_a_used_code_cannot_be_revoked(client: TestClient) -> None:
    code = issue(client)["code"]
    client.post("/api/join", json=newcomer(code))

    response = client.delete(f"/api/invites/{code}", headers=login(client, "syndic"))

    assert response.status_code == 409
    assert response.json()["detail"].startswith(f"the invite code {code} was already used on ")


@pytest.mark.parametrize(("code", "status", "detail"), [
    ("ABCD-EFGH-JK", 404, "no invite code ABCD-EFGH-JK: check the letters, or ask your manager"),
    ("hello", 400, "'hello' is not an invite code: a code has 10 letters and digits, like "
                   "ABCD-EFGH-JK (dashes and spaces optional)"),
])
def test_unknown_and_malformed_codes_say_which(
    client: TestClient, code: str, status: int, detail: str
) -> None:
    assert client.get(f"/api/invites/{code}").json() == {"detail": detail}
    response = client.post("/api/join", json=newcomer(code))
    assert (response.status_code, response.json()) == (status, {"detail": detail})


def test_a_failed_join_leaves_no_account_and_the_code_unused(client: TestClient) -> None:
    code = issue(client)["code"]

    taken = client.post("/api/join", json=newcomer(code, username="alice"))
    reserved = client.post("/api/join", json=newcomer(code, username="deleted-7"))
    nameless = client.post("/api/join", json=newcomer(code, first_name=None))

    assert (taken.status_code, taken.json()) == (409, {
        "detail": "the username 'alice' is already taken"})
    assert reserved.status_code == 422
    assert "usernames starting with 'deleted-' are reserved" in reserved.json()["detail"]
    assert nameless.status_code == 422
    assert "give a display_name, or a first_name and a last_name" in nameless.json()["detail"]
    assert client.get(f"/api/invites/{code}").status_code == 200
    assert client.post("/api/join", json=newcomer(code)).status_code == 201


def test_joining_with_a_display_name_only(client: TestClient) -> None:
    code = issue(client)["code"]

    joined = client.post("/api/join", json=newcomer(
        code, first_name=None, last_name=None, display_name="Famille Diallo", language="en"))

    assert joined.status_code == 201, joined.text
    me = joined.json()["member"]
    assert (me["name"], me["first_name"], me["language"]) == ("Famille Diallo", None, "en")


def test_only_the_managers_of_its_building_issue_codes_for_a_flat(client: TestClient) -> None:
    not_yours = ("only the managers of {} may issue invite codes for its flats: you hold no "
                 "verified manager, syndic or landlord membership there")
    cases = {
        ("alice", UNIT): (403, not_yours.format("Résidence Les Lilas")),
        ("gerant", UNIT): (403, not_yours.format("Résidence Les Lilas")),
        ("syndic", "tilleuls/a/1/11"): (403, not_yours.format("Les Tilleuls")),
        ("syndic", "lilas/b"): (400, "'lilas/b' is an entrance, not a unit: invites and join "
                                     "requests are for one unit (a flat)"),
        ("syndic", "lilas/b/9/91"): (404, "no unit 'lilas/b/9/91' in the site"),
    }
    headers = {who: login(client, who) for who in ("alice", "gerant", "syndic")}

    issued, listed = {}, {}
    for who, unit in cases:
        response = client.post(f"/api/places/{unit}/invites", json={}, headers=headers[who])
        issued[who, unit] = (response.status_code, response.json()["detail"])
        listed[who, unit] = client.get(f"/api/places/{unit}/invites",
                                       headers=headers[who]).status_code

    assert issued == cases
    assert listed == {case: status for case, (status, _detail) in cases.items()}


def test_only_the_managers_of_its_building_revoke_a_code(client: TestClient) -> None:
    code = issue(client)["code"]

    for who in ("alice", "gerant"):
        response = client.delete(f"/api/invites/{code}", headers=login(client, who))
        assert response.status_code == 403, who
    assert client.delete(f"/api/invites/{code}", headers=login(client, "cosyndic")).json()[
        "status"] == "revoked"


def test_invite_lists_page_without_gaps(client: TestClient) -> None:
    codes = [issue(client, FREE_UNIT)["code"] for _ in range(5)]
    headers = login(client, "syndic")

    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get(f"/api/places/{FREE_UNIT}/invites", params=params,
                          headers=headers).json()
        seen += [item["code"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == codes[::-1]
    forged = client.get(f"/api/places/{FREE_UNIT}/invites", params={"cursor": "xyz"},
                        headers=headers)
    assert forged.status_code == 400


def test_a_member_redeems_a_code_for_themselves(client: TestClient, database: Database) -> None:
    code = issue(client, FREE_UNIT, role="tenant")["code"]
    tom = login(client, "tom")  # lives at Les Tilleuls, moves into Les Lilas too

    response = client.post("/api/me/join", json={"code": code}, headers=tom)

    assert response.status_code == 201, response.text
    assert (response.json()["place"]["id"], response.json()["role"],
            response.json()["verified"]) == (FREE_UNIT, "tenant", True)
    places = {m["place"]["id"] for m in client.get("/api/me", headers=tom).json()["memberships"]}
    assert places == {"tilleuls/a/1/11", FREE_UNIT}
    assert client.get("/api/feed", params={"place": "lilas/a"}, headers=tom).status_code == 200

    second = issue(client, FREE_UNIT)["code"]
    again = client.post("/api/me/join", json={"code": second}, headers=tom)
    assert (again.status_code, again.json()) == (409, {
        "detail": f"you already live at Résidence Les Lilas, Entrée A, appartement 11: keep "
                  f"the code {second} for someone else"})
    assert client.get(f"/api/invites/{second}").status_code == 200  # still unused


def test_two_people_redeeming_one_code_at_once_only_one_wins(
    client: TestClient, database: Database
) -> None:
    code = issue(client)["code"]
    outcome: dict[str, object] = {}

    def second() -> None:
        with database.session() as session:
            try:
                join_with_invite(session, code, username="second", password="pw-second",
                                 display_name="Second")
                session.commit()
                outcome["second"] = "joined"
            except InviteUsed as exc:
                outcome["second"] = exc

    with database.session() as session:
        join_with_invite(session, code, username="first", password="pw-first",
                         display_name="First")
        worker = threading.Thread(target=second)
        worker.start()
        wait_until_blocked(database, worker)
        session.commit()
    worker.join(10)

    assert isinstance(outcome["second"], InviteUsed)
    with database.session() as session:
        usernames = set(session.scalars(select(Member.username)))
    assert "first" in usernames and "second" not in usernames


# -- join requests -----------------------------------------------------------------------

def test_a_request_approved_by_a_manager_gives_a_verified_membership(
    client: TestClient, database: Database
) -> None:
    tom = login(client, "tom")
    asked = client.post("/api/join-requests", headers=tom, json={
        "place": FREE_UNIT, "role": "tenant", "message": "Tom Martin, locataire depuis mars"})
    assert asked.status_code == 201, asked.text
    request = asked.json()
    assert (request["status"], request["member"], request["place"]["id"]) == (
        "pending", {"id": member_id(database, "tom"), "display_name": "Tom"}, FREE_UNIT)

    twice = client.post("/api/join-requests", headers=tom, json={"place": FREE_UNIT})
    assert (twice.status_code, twice.json()) == (409, {
        "detail": f"you already asked to join Résidence Les Lilas, Entrée A, appartement 11 "
                  f"(request {request['id']}): its managers have not answered yet"})

    syndic = login(client, "syndic")
    pending = client.get("/api/buildings/lilas/join-requests", headers=syndic).json()
    assert [(r["id"], r["message"]) for r in pending["items"]] == [
        (request["id"], "Tom Martin, locataire depuis mars")]
    assert "tom" not in str(pending)  # the username never leaves the account

    approved = client.post(f"/api/join-requests/{request['id']}/approve", headers=syndic)

    assert approved.status_code == 200, approved.text
    decision = approved.json()
    assert decision["request"]["status"] == "approved"
    assert (decision["membership"]["place"]["id"], decision["membership"]["role"],
            decision["membership"]["verified"]) == (FREE_UNIT, "tenant", True)
    assert FREE_UNIT in {m["place"]["id"]
                         for m in client.get("/api/me", headers=tom).json()["memberships"]}
    assert client.get("/api/buildings/lilas/join-requests", headers=syndic).json()["items"] == []
    done = client.get("/api/buildings/lilas/join-requests", params={"status": "approved"},
                      headers=syndic).json()["items"]
    assert [r["id"] for r in done] == [request["id"]]
    mine = client.get("/api/me/join-requests", headers=tom).json()["items"]
    assert [(r["id"], r["status"]) for r in mine] == [(request["id"], "approved")]

    again = client.post(f"/api/join-requests/{request['id']}/reject", headers=syndic)
    assert again.status_code == 409
    assert again.json()["detail"].startswith(
        f"join request {request['id']} was already approved on ")


def test_a_rejected_request_gives_nothing(client: TestClient) -> None:
    tom = login(client, "tom")
    request = client.post("/api/join-requests", headers=tom, json={"place": FREE_UNIT}).json()

    rejected = client.post(f"/api/join-requests/{request['id']}/reject",
                           headers=login(client, "syndic"))

    assert rejected.status_code == 200
    assert (rejected.json()["request"]["status"], rejected.json()["membership"]) == (
        "rejected", None)
    assert FREE_UNIT not in {m["place"]["id"]
                             for m in client.get("/api/me", headers=tom).json()["memberships"]}


def test_only_the_managers_of_its_building_decide_a_request(client: TestClient) -> None:
    request = client.post("/api/join-requests", headers=login(client, "tom"),
                          json={"place": FREE_UNIT}).json()

    resident = client.post(f"/api/join-requests/{request['id']}/approve",
                           headers=login(client, "alice"))
    elsewhere = client.post(f"/api/join-requests/{request['id']}/approve",
                            headers=login(client, "gerant"))
    listing = client.get("/api/buildings/lilas/join-requests", headers=login(client, "gerant"))
    as_resident = client.get("/api/buildings/lilas/join-requests", headers=login(client, "alice"))

    assert (resident.status_code, resident.json()) == (403, {
        "detail": "join requests are decided by the managers of the building: you hold no "
                  "verified manager, syndic or landlord membership of a building"})
    assert (elsewhere.status_code, elsewhere.json()) == (404, {
        "detail": f"no join request {request['id']} among those of the buildings you manage"})
    assert listing.status_code == as_resident.status_code == 403
    assert client.get("/api/buildings/lilas/join-requests", headers=login(client, "syndic")
                      ).json()["items"][0]["status"] == "pending"


def test_a_request_is_for_a_flat(client: TestClient) -> None:
    tom = login(client, "tom")

    statuses = {place: client.post("/api/join-requests", headers=tom,
                                   json={"place": place}).status_code
                for place in ("lilas", "lilas/b/3", "nowhere/1")}

    assert statuses == {"lilas": 400, "lilas/b/3": 400, "nowhere/1": 404}


def test_join_requests_are_listed_per_building(client: TestClient) -> None:
    syndic = login(client, "syndic")
    unknown = client.get("/api/buildings/nowhere/join-requests", headers=syndic)
    city = client.get("/api/buildings/evry/join-requests", headers=syndic)

    assert (unknown.status_code, unknown.json()) == (404, {
        "detail": "no building 'nowhere' in the site"})
    assert (city.status_code, city.json()) == (400, {
        "detail": "'evry' is a city, not a building: join requests are listed per building"})


def test_a_resident_cannot_ask_for_their_own_flat(client: TestClient) -> None:
    response = client.post("/api/join-requests", headers=login(client, "alice"),
                           json={"place": UNIT})
    assert (response.status_code, response.json()) == (409, {
        "detail": "you already live at Résidence Les Lilas, Entrée B, appartement 31"})


# -- the end of a membership -------------------------------------------------------------

def membership_of(client: TestClient, headers: dict[str, str], place: str) -> int:
    memberships = client.get("/api/me", headers=headers).json()["memberships"]
    return next(m["id"] for m in memberships if m["place"]["id"] == place)


def test_moving_out_ends_access_to_the_building_not_the_account(
    client: TestClient, database: Database, post_at: Callable[..., int]
) -> None:
    with database.session() as session:
        post_at(session, "lilas/b", fr="Réunion des résidents")
        session.commit()
    alice = login(client, "alice")
    assert client.get("/api/feed", headers=alice).json()["items"]

    ended = client.post(f"/api/memberships/{membership_of(client, alice, UNIT)}/end",
                        headers=alice)

    assert ended.status_code == 200, ended.text
    assert ended.json()["ended_at"] is not None
    assert client.get("/api/feed", headers=alice).json()["items"] == []
    assert client.get("/api/feed", params={"place": "lilas/b"}, headers=alice).status_code == 404
    assert client.get("/api/me", headers=alice).json()["memberships"] == []
    login(client, "alice")  # the account stays

    again = client.post(f"/api/memberships/{ended.json()['id']}/end", headers=alice)
    assert again.status_code == 409
    assert again.json()["detail"].startswith(f"membership {ended.json()['id']} already ended on ")


def test_a_manager_ends_a_residents_membership_but_not_a_fellow_managers(
    client: TestClient, database: Database
) -> None:
    emma = membership_of(client, login(client, "emma"), "lilas/b/3/32")
    cosyndic = membership_of(client, login(client, "cosyndic"), "lilas")
    alice = membership_of(client, login(client, "alice"), UNIT)

    by_syndic = client.post(f"/api/memberships/{emma}/end", headers=login(client, "syndic"))
    fellow = client.post(f"/api/memberships/{cosyndic}/end", headers=login(client, "syndic"))
    elsewhere = client.post(f"/api/memberships/{alice}/end", headers=login(client, "gerant"))
    neighbour = client.post(f"/api/memberships/{alice}/end", headers=login(client, "tom"))

    assert by_syndic.status_code == 200
    assert fellow.status_code == 403
    assert "a manager ends residents' memberships only" in fellow.json()["detail"]
    assert elsewhere.status_code == neighbour.status_code == 404
    assert neighbour.json() == {
        "detail": f"no membership {alice} among yours or those of the buildings you manage"}
    with database.session() as session:
        still = session.scalar(select(Membership.ended_at).where(Membership.id == alice))
    assert still is None


def test_openapi_documents_the_joining_routes(sqlite_database: Database) -> None:
    with TestClient(create_app(sqlite_database)) as client:
        paths = client.get("/openapi.json").json()["paths"]

    assert {
        "/api/places/{unit_id}/invites": {"get", "post"},
        "/api/invites/{code}": {"get", "delete"},
        "/api/join": {"post"},
        "/api/me": {"get", "patch", "delete"},
        "/api/me/join": {"post"},
        "/api/me/join-requests": {"get"},
        "/api/me/export": {"get"},
        "/api/join-requests": {"post"},
        "/api/buildings/{building_id}/join-requests": {"get"},
        "/api/join-requests/{request_id}/approve": {"post"},
        "/api/join-requests/{request_id}/reject": {"post"},
        "/api/memberships/{membership_id}/end": {"post"},
        "/api/members": {"get"},
        "/api/members/{member_id}": {"get"},
    }.items() <= {path: set(methods) for path, methods in paths.items()}.items()
