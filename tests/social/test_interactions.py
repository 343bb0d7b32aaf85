"""What neighbours do with posts, through the API on SQLite and PostgreSQL: comments,
reactions ("still happening" on the alarm board), read receipts per household, help
offers and their privacy, RSVPs within capacity, one vote, tickets and vouches."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from rules.actions import ClearAlarm, PostDraft, RaiseAlarm
from social.alarms import AlarmBook
from social.api import create_app
from social.community_models import PollVote
from social.db import Database
from social.errors import PostConflict
from social.interactions import Receipts, set_rsvp
from social.models import Member, Membership, utcnow
from tests.social.posting import add_member, bearer, created, publish, stored_post

if TYPE_CHECKING:
    from tests.social.conftest import World


@pytest.fixture
def client(database: Database, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(database)) as client:
        yield client


@pytest.fixture
def alice(database: Database, world: World) -> dict[str, str]:
    """Resident of lilas/b/3/31, French."""
    return bearer(database, world.resident)


@pytest.fixture
def emma(database: Database, world: World) -> dict[str, str]:
    """Tenant of lilas/b/3/32, English."""
    return bearer(database, world.english_resident)


@pytest.fixture
def syndic(database: Database, world: World) -> dict[str, str]:
    return bearer(database, world.manager)


@pytest.fixture
def tom(database: Database, world: World) -> dict[str, str]:
    """Resident of another building (Les Tilleuls)."""
    return bearer(database, world.other_resident)


def raise_lift_alarm(database: Database, building: str = "lilas") -> tuple[int, int]:
    """A lift alarm with its alert post in the building; returns (alarm id, post id)."""
    with database.session() as session:
        [change] = AlarmBook().apply(session, [RaiseAlarm(
            rule_id="lift", device_id=f"lift-{building}", place_id=f"{building}",
            building_id=building, severity="major", title={"fr": "Ascenseur en panne"},
            at=utcnow().timestamp(),
            post=PostDraft(place_id=building, kind="alert", title={"fr": "Ascenseur en panne"},
                           body={}))])
        session.commit()
    assert change.post_id is not None
    return change.alarm_id, change.post_id


# -- comments and reactions ---------------------------------------------------------------


def test_comments_are_listed_oldest_first_and_paged(
    client: TestClient, database: Database, world: World, alice: dict[str, str],
    emma: dict[str, str], tom: dict[str, str],
) -> None:
    post_id = stored_post(database, "lilas", "message", author=world.resident)
    for i, who in enumerate((emma, alice, emma)):
        response = client.post(f"/api/posts/{post_id}/comments", json={"body": f"c{i}"},
                               headers=who)
        assert response.status_code == 201, response.text

    first = client.get(f"/api/posts/{post_id}/comments", params={"limit": 2},
                       headers=alice).json()
    rest = client.get(f"/api/posts/{post_id}/comments",
                      params={"limit": 2, "cursor": first["next_cursor"]}, headers=alice).json()

    assert [c["body"] for c in first["items"] + rest["items"]] == ["c0", "c1", "c2"]
    assert first["items"][0]["author"] == {"id": world.english_resident, "display_name": "Emma"}
    assert rest["next_cursor"] is None
    assert client.get(f"/api/posts/{post_id}/comments", headers=tom).status_code == 404
    assert client.post(f"/api/posts/{post_id}/comments", json={"body": "x"},
                       headers=tom).status_code == 404
    assert client.post(f"/api/posts/{post_id}/comments", json={"body": ""},
                       headers=alice).status_code == 422
    assert client.get(f"/api/posts/{post_id}", headers=alice).json()["counts"]["comments"] == 3


def test_reactions_are_counted_once_per_member_and_kind(
    client: TestClient, database: Database, world: World, alice: dict[str, str],
    emma: dict[str, str],
) -> None:
    post_id = stored_post(database, "lilas", "message", author=world.resident)

    first = client.post(f"/api/posts/{post_id}/reactions", json={"kind": "like"}, headers=emma)
    again = client.post(f"/api/posts/{post_id}/reactions", json={"kind": "like"}, headers=emma)
    thanks = client.post(f"/api/posts/{post_id}/reactions", json={"kind": "thanks"},
                         headers=alice)

    assert (first.json()["changed"], again.json()["changed"]) == (True, False)
    post = thanks.json()["post"]
    assert post["counts"]["reactions"] == {"like": 1, "thanks": 1}
    assert post["my_reactions"] == ["thanks"]
    removed = client.delete(f"/api/posts/{post_id}/reactions/like", headers=emma)
    assert removed.json()["post"]["counts"]["reactions"] == {"thanks": 1}
    wrong_kind = client.post(f"/api/posts/{post_id}/reactions",
                             json={"kind": "still_happening"}, headers=emma)
    assert wrong_kind.status_code == 409
    assert wrong_kind.json()["code"] == "not_for_kind"


def test_me_too_is_for_other_residents_of_a_problem_report(
    client: TestClient, alice: dict[str, str], emma: dict[str, str], syndic: dict[str, str]
) -> None:
    ticket = created(publish(client, alice, "lilas", "problem_report"))

    own = client.post(f"/api/posts/{ticket}/reactions", json={"kind": "me_too"}, headers=alice)
    manager = client.post(f"/api/posts/{ticket}/reactions", json={"kind": "me_too"},
                          headers=syndic)
    neighbour = client.post(f"/api/posts/{ticket}/reactions", json={"kind": "me_too"},
                            headers=emma)

    assert (own.status_code, own.json()["code"]) == (403, "own_post")
    assert (manager.status_code, manager.json()["code"]) == (403, "residents_action")
    assert neighbour.status_code == 200
    assert neighbour.json()["post"]["counts"]["reactions"] == {"me_too": 1}


def test_still_happening_is_counted_on_the_alarm(
    client: TestClient, database: Database, alice: dict[str, str], emma: dict[str, str],
    syndic: dict[str, str],
) -> None:
    alarm_id, post_id = raise_lift_alarm(database)
    raise_lift_alarm(database, "tilleuls")

    for who in (alice, emma, alice):
        response = client.post(f"/api/posts/{post_id}/reactions",
                               json={"kind": "still_happening"}, headers=who)
        assert response.status_code == 200, response.text
    by_manager = client.post(f"/api/posts/{post_id}/reactions",
                             json={"kind": "still_happening"}, headers=syndic)

    assert by_manager.status_code == 403
    board = client.get("/api/alarms", headers=syndic).json()["items"]
    assert [(a["id"], a["still_happening"]) for a in board] == [(alarm_id, 2)]
    assert board[0]["still_happening_last_at"] is not None
    explained = client.get(f"/api/alarms/{alarm_id}/explain", headers=syndic).json()
    assert explained["alarm"]["still_happening"] == 2

    with database.session() as session:
        AlarmBook().apply(session, [ClearAlarm(rule_id="lift", device_id="lift-lilas",
                                               at=utcnow().timestamp())])
        session.commit()
    over = client.post(f"/api/posts/{post_id}/reactions", json={"kind": "still_happening"},
                       headers=bearer(database, add_member(database, "dan",
                                                           ("lilas/a/1/11", "owner"))))
    assert (over.status_code, over.json()["code"]) == (409, "alert_over")


# -- read receipts ------------------------------------------------------------------------


def test_read_receipts_count_households_of_the_notice_place(
    client: TestClient, database: Database, world: World, syndic: dict[str, str],
    alice: dict[str, str], emma: dict[str, str], tom: dict[str, str],
) -> None:
    # Entrance B: alice (31), emma (32, with carol unverified), and six more households,
    # one of them with two residents. Bob's ended tenancy in entrance A is not counted.
    units = ["lilas/b/1/11", "lilas/b/1/12", "lilas/b/2/21", "lilas/b/2/22", "lilas/b/4/41"]
    neighbours = {unit: add_member(database, f"n{unit.replace('/', '')}", (unit, "owner"))
                  for unit in units}
    second = add_member(database, "n-41-bis", ("lilas/b/4/41", "tenant"))
    add_member(database, "n-42", ("lilas/b/4/42", "resident"))
    outside = add_member(database, "n-a", ("lilas/a/1/11", "owner"))
    notice = created(publish(client, syndic, "lilas/b", "notice"))

    for who in (alice, emma, bearer(database, neighbours["lilas/b/1/11"]),
                bearer(database, neighbours["lilas/b/2/21"]), bearer(database, second),
                bearer(database, outside), syndic):
        response = client.post(f"/api/posts/{notice}/read", headers=who)
        assert response.status_code in (200, 404), response.text
    twice = client.post(f"/api/posts/{notice}/read", headers=alice)
    receipts = client.get(f"/api/posts/{notice}/receipts", headers=syndic)

    assert twice.json() == {"post_id": notice, "newly_read": False}
    assert receipts.status_code == 200, receipts.text
    assert receipts.json() == {
        "post_id": notice, "households": 8, "read": 5, "percent": 63,
        "summary": "Lu par 63 % des foyers (5 sur 8)",
    }
    assert client.get(f"/api/posts/{notice}/receipts", headers=alice).status_code == 403
    assert client.get(f"/api/posts/{notice}/receipts", headers=tom).status_code == 404
    other_syndic = bearer(database, add_member(database, "syndic2", ("tilleuls", "syndic")))
    assert client.get(f"/api/posts/{notice}/receipts", headers=other_syndic).status_code == 404
    message = stored_post(database, "lilas", "message", author=world.resident)
    not_notice = client.get(f"/api/posts/{message}/receipts", headers=syndic)
    assert (not_notice.status_code, not_notice.json()["code"]) == (409, "not_for_kind")


def test_receipts_percent_rounds_half_up_and_says_it_in_english() -> None:
    assert [Receipts(1, households, read).percent
            for households, read in ((8, 5), (3, 1), (3, 2), (0, 0), (19, 12))] \
        == [63, 33, 67, 0, 63]
    assert Receipts(1, 19, 12).summary("en") == "Read by 63% of households (12 of 19)"


def test_residents_see_receipts_of_a_building_notice_only_if_they_manage(
    client: TestClient, syndic: dict[str, str], alice: dict[str, str]
) -> None:
    notice = created(publish(client, syndic, "lilas", "notice"))

    resident = client.get(f"/api/posts/{notice}/receipts", headers=alice)

    assert (resident.status_code, resident.json()["code"]) == (403, "managers_only")


# -- help offers ----------------------------------------------------------------------------


def test_help_offers_are_private_and_the_requester_accepts_one(
    client: TestClient, database: Database, alice: dict[str, str], emma: dict[str, str],
    tom: dict[str, str],
) -> None:
    request = created(publish(client, alice, "lilas", "help_request",
                              title="Porter mes courses ?"))
    dan = bearer(database, add_member(database, "dan", ("lilas/a/1/11", "owner")))

    mine = client.post(f"/api/posts/{request}/offers", json={"message": "Moi !"}, headers=alice)
    emma_offer = client.post(f"/api/posts/{request}/offers", json={"message": "I can"},
                             headers=emma).json()
    dan_offer = client.post(f"/api/posts/{request}/offers", json={}, headers=dan).json()
    twice = client.post(f"/api/posts/{request}/offers", json={}, headers=dan)
    outsider = client.post(f"/api/posts/{request}/offers", json={}, headers=tom)

    assert (mine.status_code, mine.json()["code"]) == (403, "own_post")
    assert twice.status_code == 409
    assert outsider.status_code == 404
    seen_by_alice = client.get(f"/api/posts/{request}/offers", headers=alice).json()
    seen_by_emma = client.get(f"/api/posts/{request}/offers", headers=emma).json()
    assert seen_by_alice["requester"] is True
    assert [o["id"] for o in seen_by_alice["items"]] == [emma_offer["id"], dan_offer["id"]]
    assert seen_by_emma == {"requester": False, "items": [emma_offer]}

    not_requester = client.post(f"/api/posts/{request}/offers/{dan_offer['id']}/accept",
                                headers=emma)
    accepted = client.post(f"/api/posts/{request}/offers/{emma_offer['id']}/accept",
                           headers=alice)
    assert (not_requester.status_code, not_requester.json()["code"]) == (403, "requester_only")
    assert accepted.status_code == 200, accepted.text
    assert [(o["id"], o["status"]) for o in accepted.json()["items"]] == [
        (emma_offer["id"], "accepted"), (dan_offer["id"], "declined")]
    # The declined offer stays between its helper and the requester.
    assert [(o["id"], o["status"]) for o in client.get(
        f"/api/posts/{request}/offers", headers=dan).json()["items"]] == [
        (dan_offer["id"], "declined")]
    assert [o["id"] for o in client.get(
        f"/api/posts/{request}/offers", headers=emma).json()["items"]] == [emma_offer["id"]]
    late = client.post(f"/api/posts/{request}/offers", json={},
                       headers=bearer(database, add_member(database, "eve",
                                                           ("lilas/a/1/12", "owner"))))
    assert (late.status_code, late.json()["code"]) == (409, "help_found")
    assert client.get(f"/api/posts/{request}", headers=alice).json()["status"] == "resolved"


def test_a_helper_withdraws_a_pending_offer(
    client: TestClient, alice: dict[str, str], emma: dict[str, str]
) -> None:
    request = created(publish(client, alice, "lilas", "help_request"))
    offer = client.post(f"/api/posts/{request}/offers", json={}, headers=emma).json()

    by_other = client.post(f"/api/posts/{request}/offers/{offer['id']}/withdraw", headers=alice)
    withdrawn = client.post(f"/api/posts/{request}/offers/{offer['id']}/withdraw",
                            headers=emma)

    assert by_other.status_code == 404
    assert withdrawn.json()["status"] == "withdrawn"
    again = client.post(f"/api/posts/{request}/offers", json={"message": "finalement oui"},
                        headers=emma)
    assert (again.status_code, again.json()["status"]) == (201, "offered")


# -- events and polls --------------------------------------------------------------------


def test_rsvp_yes_beyond_capacity_is_full(
    client: TestClient, database: Database, alice: dict[str, str], emma: dict[str, str],
) -> None:
    start = (utcnow() + timedelta(days=3)).isoformat()
    event = created(publish(client, alice, "lilas", "event",
                            data={"starts_at": start, "location": "cour", "capacity": 2}))
    dan = bearer(database, add_member(database, "dan", ("lilas/a/1/11", "owner")))

    assert client.put(f"/api/posts/{event}/rsvp", json={"answer": "yes"},
                      headers=alice).status_code == 200
    assert client.put(f"/api/posts/{event}/rsvp", json={"answer": "yes"},
                      headers=emma).json()["remaining"] == 0
    full = client.put(f"/api/posts/{event}/rsvp", json={"answer": "yes"}, headers=dan)
    maybe = client.put(f"/api/posts/{event}/rsvp", json={"answer": "maybe"}, headers=dan)
    still_yes = client.put(f"/api/posts/{event}/rsvp", json={"answer": "yes"}, headers=emma)

    assert (full.status_code, full.json()["code"]) == (409, "full")
    assert full.json()["detail"] == "Complet : il n'y a plus de place pour cet événement."
    assert maybe.json() == {"yes": 2, "no": 0, "maybe": 1, "capacity": 2, "remaining": 0,
                            "mine": "maybe"}
    assert still_yes.status_code == 200, "answering yes again keeps one's seat"
    assert client.put(f"/api/posts/{event}/rsvp", json={"answer": "no"},
                      headers=emma).status_code == 200
    assert client.put(f"/api/posts/{event}/rsvp", json={"answer": "yes"},
                      headers=dan).json()["yes"] == 2
    assert client.get(f"/api/posts/{event}", headers=alice).json()["counts"]["attending"] == 2


def test_two_neighbours_racing_for_the_last_seat_get_one_seat(
    database: Database, world: World
) -> None:
    event = stored_post(database, "lilas", "event", author=world.resident,
                        data={"starts_at": (utcnow() + timedelta(days=1)).isoformat(),
                              "location": "cour", "capacity": 1})
    with database.session() as session:
        racers = [session.get(Member, m) for m in (world.resident, world.english_resident)]
    outcomes: list[str] = []
    # Both wait here, outside any transaction: on SQLite a transaction is a write lock.
    barrier = threading.Barrier(len(racers), timeout=10)

    def take_seat(member: Member | None) -> None:
        assert member is not None
        barrier.wait()
        with database.session() as session:
            try:
                set_rsvp(session, member, event, "yes")
                session.commit()
                outcomes.append("seat")
            except PostConflict as exc:
                outcomes.append(exc.code)

    threads = [threading.Thread(target=take_seat, args=(m,)) for m in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert sorted(outcomes) == ["full", "seat"]


def test_one_vote_per_member_enforced_by_the_database(
    client: TestClient, database: Database, world: World, alice: dict[str, str],
    emma: dict[str, str],
) -> None:
    poll = created(publish(client, alice, "lilas", "poll",
                           data={"options": ["samedi", "dimanche", "lundi"]}))

    first = client.post(f"/api/posts/{poll}/votes", json={"option": 1}, headers=alice)
    second = client.post(f"/api/posts/{poll}/votes", json={"option": 0}, headers=alice)
    out_of_range = client.post(f"/api/posts/{poll}/votes", json={"option": 3}, headers=emma)
    emma_vote = client.post(f"/api/posts/{poll}/votes", json={"option": 1}, headers=emma)

    assert first.status_code == 201
    assert (second.status_code, second.json()["code"]) == (409, "already_voted")
    assert out_of_range.json()["errors"][0]["loc"] == ["body", "option"]
    assert emma_vote.json() == {
        "options": [{"index": 0, "text": "samedi", "votes": 0},
                    {"index": 1, "text": "dimanche", "votes": 2},
                    {"index": 2, "text": "lundi", "votes": 0}],
        "total": 2, "mine": 1, "closed": False}
    with database.session() as session, pytest.raises(IntegrityError):
        session.add(PollVote(post_id=poll, member_id=world.resident, option=2,
                             created_at=utcnow()))
        session.flush()


# -- problem reports ---------------------------------------------------------------------


def test_managers_move_a_ticket_on_and_link_it_to_an_alarm(
    client: TestClient, database: Database, alice: dict[str, str], emma: dict[str, str],
    syndic: dict[str, str],
) -> None:
    ticket = created(publish(client, alice, "lilas", "problem_report",
                             data={"category": "lift", "location": "ascenseur B"}))
    alarm_id, _post = raise_lift_alarm(database)
    other_alarm, _other_post = raise_lift_alarm(database, "tilleuls")
    other_syndic = bearer(database, add_member(database, "syndic2", ("tilleuls", "syndic")))

    by_resident = client.post(f"/api/posts/{ticket}/status", json={"status": "fixed"},
                              headers=emma)
    by_other = client.post(f"/api/posts/{ticket}/status", json={"status": "fixed"},
                           headers=other_syndic)
    started = client.post(f"/api/posts/{ticket}/status",
                          json={"status": "in_progress", "note": "Ascensoriste appelé"},
                          headers=syndic)
    backwards = client.post(f"/api/posts/{ticket}/status", json={"status": "received"},
                            headers=syndic)
    linked = client.post(f"/api/posts/{ticket}/link-alarm", json={"alarm_id": alarm_id},
                         headers=syndic)
    elsewhere = client.post(f"/api/posts/{ticket}/link-alarm", json={"alarm_id": other_alarm},
                            headers=syndic)
    fixed = client.post(f"/api/posts/{ticket}/status", json={"status": "fixed"}, headers=syndic)

    assert (by_resident.status_code, by_resident.json()["code"]) == (403, "managers_only")
    assert by_other.status_code == 404
    assert started.json()["data"]["status"] == "in_progress"
    assert (backwards.status_code, backwards.json()["detail"]) == (
        409, "Un signalement « en cours » ne peut pas passer à « reçu ».")
    assert linked.json()["data"]["linked_alarm_id"] == alarm_id
    assert elsewhere.status_code == 404
    done = fixed.json()
    assert (done["data"]["status"], done["status"]) == ("fixed", "resolved")
    assert [(s["status"], s.get("note")) for s in done["data"]["history"]] == [
        ("received", None), ("in_progress", "Ascensoriste appelé"), ("fixed", None)]
    assert all("by" not in step for step in done["data"]["history"])
    reopened = client.post(f"/api/posts/{ticket}/status", json={"status": "in_progress"},
                           headers=syndic)
    assert reopened.json()["status"] == "active"


def test_managers_list_the_tickets_of_their_buildings(
    client: TestClient, database: Database, alice: dict[str, str], syndic: dict[str, str],
    tom: dict[str, str],
) -> None:
    mine = created(publish(client, alice, "lilas", "problem_report"))
    created(publish(client, tom, "tilleuls", "problem_report"))
    created(publish(client, alice, "lilas", "message"))

    listed = client.get("/api/tickets", headers=syndic).json()
    refused = client.get("/api/tickets", headers=alice)

    assert [t["id"] for t in listed["items"]] == [mine]
    assert refused.status_code == 403


# -- vouches ------------------------------------------------------------------------------


def test_vouches_are_between_verified_neighbours_and_shown_on_offers(
    client: TestClient, database: Database, world: World, alice: dict[str, str],
    emma: dict[str, str], syndic: dict[str, str], tom: dict[str, str],
) -> None:
    offer = created(publish(client, alice, "lilas", "service_offer",
                            data={"category": "babysitting"}))
    dan_id = add_member(database, "dan", ("lilas/a/1/11", "owner"))
    carol = bearer(database, world.unverified)

    first = client.post(f"/api/members/{world.resident}/vouch", json={"service": "babysitting"},
                        headers=emma)
    twice = client.post(f"/api/members/{world.resident}/vouch",
                        json={"service": "babysitting"}, headers=emma)
    other_service = client.post(f"/api/members/{world.resident}/vouch",
                                json={"service": "pet_sitting"}, headers=bearer(database, dan_id))
    dan = client.post(f"/api/members/{world.resident}/vouch", json={"service": "babysitting"},
                      headers=bearer(database, dan_id))

    assert first.status_code == 200, first.text
    assert twice.json()["vouched_by"] == 1
    assert other_service.json()["vouched_by"] == 1
    assert dan.json() == {"member_id": world.resident, "service": "babysitting",
                          "vouched_by": 2, "summary": "Recommandé·e par 2 voisin·e·s"}
    for who, status, code in ((tom, 404, None), (syndic, 403, "vouch_residents_only"),
                              (carol, 403, "vouch_residents_only"),
                              (alice, 403, "vouch_self")):
        response = client.post(f"/api/members/{world.resident}/vouch",
                               json={"service": "babysitting"}, headers=who)
        assert response.status_code == status, response.text
        assert response.json().get("code") == code
    assert client.post(f"/api/members/{world.resident}/vouch", json={"service": "plumbing"},
                       headers=emma).status_code == 422
    assert client.get(f"/api/posts/{offer}", headers=emma).json()["vouched_by"] == 2

    with database.session() as session:  # Dan moves out: he no longer vouches as a neighbour.
        session.execute(update(Membership).where(Membership.member_id == dan_id)
                        .values(ended_at=utcnow() - timedelta(minutes=1)))
        session.commit()
    assert client.get(f"/api/posts/{offer}", headers=emma).json()["vouched_by"] == 1
    taken_back = client.delete(f"/api/members/{world.resident}/vouch/babysitting",
                               headers=emma)
    assert taken_back.json()["vouched_by"] == 0
