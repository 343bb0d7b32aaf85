"""GENERATED from social/rights.py: do not edit.

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
HOMES = {'owner': 'lilas/b/3/31', 'resident': 'lilas/b/3/31', 'tenant': 'lilas/b/3/31', 'landlord': 'lilas', 'manager': 'lilas', 'syndic': 'lilas', 'installer': 'lilas', 'association': 'pyramides', 'merchant': 'pyramides', 'municipality': 'pyramides', 'moderator': 'pyramides', 'admin': 'evry'}
TARGETS = ('lilas/b/3/31', 'lilas/b/3', 'lilas/b', 'lilas', 'pyramides', 'evry', 'tilleuls/a/1/11', 'tilleuls/a/1', 'tilleuls/a', 'tilleuls', 'canal')

#: role -> kind -> the expected status at each of TARGETS.
CREATE = {
    "resident": {  # member at lilas/b/3/31
        #                     unit  floor   entr   bldg   hood   city o.unit  o.flr  o.ent  o.bld  canal
        "message":         (  201,   201,   201,   201,   201,   201,   404,   404,   404,   404,   404),
        "alert":           (  403,   403,   403,   403,   403,   403,   404,   404,   404,   404,   404),
        "notice":          (  403,   403,   403,   403,   403,   403,   404,   404,   404,   404,   404),
        "help_request":    (  201,   201,   201,   201,   201,   201,   404,   404,   404,   404,   404),
        "service_offer":   (  201,   201,   201,   201,   201,   201,   404,   404,   404,   404,   404),
        "service_request": (  201,   201,   201,   201,   201,   201,   404,   404,   404,   404,   404),
        "lending":         (  201,   201,   201,   201,   201,   201,   404,   404,   404,   404,   404),
        "event":           (  201,   201,   201,   201,   201,   201,   404,   404,   404,   404,   404),
        "promotion":       (  403,   403,   403,   403,   403,   403,   404,   404,   404,   404,   404),
        "lost_found":      (  201,   201,   201,   201,   201,   201,   404,   404,   404,   404,   404),
        "poll":            (  201,   201,   201,   201,   201,   201,   404,   404,   404,   404,   404),
        "problem_report":  (  403,   403,   403,   201,   403,   403,   404,   404,   404,   404,   404),
    },
    "owner": {  # member at lilas/b/3/31
        #                     unit  floor   entr   bldg   hood   city o.unit  o.flr  o.ent  o.bld  canal
        "message":         (  201,   201,   201,   201,   201,   201,   404,   404,   404,   404,   404),
        "alert":           (  403,   403,   403,   403,   403,   403,   404,   404,   404,   404,   404),
        "notice":          (  403,   403,   403,   403,   403,   403,   404,   404,   404,   404,   404),
        "help_request":    (  201,   201,   201,   201,   201,   201,   404,   404,   404,   404,   404),
        "service_offer":   (  201,   201,   201,   201,   201,   201,   404,   404,   404,   404,   404),
        "service_request": (  201,   201,   201,   201,   201,   201,   404,   404,   404,   404,   404),
        "lending":         (  201,   201,   201,   201,   201,   201,   404,   404,   404,   404,   404),
        "event":           (  201,   201,   201,   201,   201,   201,   404,   404,   404,   404,   404),
        "promotion":       (  403,   403,   403,   403,   403,   403,   404,   404,   404,   404,   404),
        "lost_found":      (  201,   201,   201,   201,   201,   201,   404,   404,   404,   404,   404),
        "poll":            (  201,   201,   201,   201,   201,   201,   404,   404,   404,   404,   404),
        "problem_report":  (  403,   403,   403,   201,   403,   403,   404,   404,   404,   404,   404),
    },
    "tenant": {  # member at lilas/b/3/31
        #                     unit  floor   entr   bldg   hood   city o.unit  o.flr  o.ent  o.bld  canal
        "message":         (  201,   201,   201,   201,   201,   201,   404,   404,   404,   404,   404),
        "alert":           (  403,   403,   403,   403,   403,   403,   404,   404,   404,   404,   404),
        "notice":          (  403,   403,   403,   403,   403,   403,   404,   404,   404,   404,   404),
        "help_request":    (  201,   201,   201,   201,   201,   201,   404,   404,   404,   404,   404),
        "service_offer":   (  201,   201,   201,   201,   201,   201,   404,   404,   404,   404,   404),
        "service_request": (  201,   201,   201,   201,   201,   201,   404,   404,   404,   404,   404),
        "lending":         (  201,   201,   201,   201,   201,   201,   404,   404,   404,   404,   404),
        "event":           (  201,   201,   201,   201,   201,   201,   404,   404,   404,   404,   404),
        "promotion":       (  403,   403,   403,   403,   403,   403,   404,   404,   404,   404,   404),
        "lost_found":      (  201,   201,   201,   201,   201,   201,   404,   404,   404,   404,   404),
        "poll":            (  201,   201,   201,   201,   201,   201,   404,   404,   404,   404,   404),
        "problem_report":  (  403,   403,   403,   201,   403,   403,   404,   404,   404,   404,   404),
    },
    "manager": {  # member at lilas
        #                     unit  floor   entr   bldg   hood   city o.unit  o.flr  o.ent  o.bld  canal
        "message":         (  403,   201,   201,   201,   403,   403,   404,   404,   404,   404,   404),
        "alert":           (  403,   403,   403,   403,   403,   403,   404,   404,   404,   404,   404),
        "notice":          (  403,   201,   201,   201,   403,   403,   404,   404,   404,   404,   404),
        "help_request":    (  403,   403,   403,   403,   403,   403,   404,   404,   404,   404,   404),
        "service_offer":   (  403,   403,   403,   403,   403,   403,   404,   404,   404,   404,   404),
        "service_request": (  403,   403,   403,   403,   403,   403,   404,   404,   404,   404,   404),
        "lending":         (  403,   403,   403,   403,   403,   403,   404,   404,   404,   404,   404),
        "event":           (  403,   201,   201,   201,   403,   403,   404,   404,   404,   404,   404),
        "promotion":       (  403,   403,   403,   403,   403,   403,   404,   404,   404,   404,   404),
        "lost_found":      (  403,   403,   403,   403,   403,   403,   404,   404,   404,   404,   404),
        "poll":            (  403,   201,   201,   201,   403,   403,   404,   404,   404,   404,   404),
        "problem_report":  (  403,   403,   403,   403,   403,   403,   404,   404,   404,   404,   404),
    },
    "syndic": {  # member at lilas
        #                     unit  floor   entr   bldg   hood   city o.unit  o.flr  o.ent  o.bld  canal
        "message":         (  403,   201,   201,   201,   403,   403,   404,   404,   404,   404,   404),
        "alert":           (  403,   403,   403,   403,   403,   403,   404,   404,   404,   404,   404),
        "notice":          (  403,   201,   201,   201,   403,   403,   404,   404,   404,   404,   404),
        "help_request":    (  403,   403,   403,   403,   403,   403,   404,   404,   404,   404,   404),
        "service_offer":   (  403,   403,   403,   403,   403,   403,   404,   404,   404,   404,   404),
        "service_request": (  403,   403,   403,   403,   403,   403,   404,   404,   404,   404,   404),
        "lending":         (  403,   403,   403,   403,   403,   403,   404,   404,   404,   404,   404),
        "event":           (  403,   201,   201,   201,   403,   403,   404,   404,   404,   404,   404),
        "promotion":       (  403,   403,   403,   403,   403,   403,   404,   404,   404,   404,   404),
        "lost_found":      (  403,   403,   403,   403,   403,   403,   404,   404,   404,   404,   404),
        "poll":            (  403,   201,   201,   201,   403,   403,   404,   404,   404,   404,   404),
        "problem_report":  (  403,   403,   403,   403,   403,   403,   404,   404,   404,   404,   404),
    },
    "landlord": {  # member at lilas
        #                     unit  floor   entr   bldg   hood   city o.unit  o.flr  o.ent  o.bld  canal
        "message":         (  403,   201,   201,   201,   403,   403,   404,   404,   404,   404,   404),
        "alert":           (  403,   403,   403,   403,   403,   403,   404,   404,   404,   404,   404),
        "notice":          (  403,   201,   201,   201,   403,   403,   404,   404,   404,   404,   404),
        "help_request":    (  403,   403,   403,   403,   403,   403,   404,   404,   404,   404,   404),
        "service_offer":   (  403,   403,   403,   403,   403,   403,   404,   404,   404,   404,   404),
        "service_request": (  403,   403,   403,   403,   403,   403,   404,   404,   404,   404,   404),
        "lending":         (  403,   403,   403,   403,   403,   403,   404,   404,   404,   404,   404),
        "event":           (  403,   201,   201,   201,   403,   403,   404,   404,   404,   404,   404),
        "promotion":       (  403,   403,   403,   403,   403,   403,   404,   404,   404,   404,   404),
        "lost_found":      (  403,   403,   403,   403,   403,   403,   404,   404,   404,   404,   404),
        "poll":            (  403,   201,   201,   201,   403,   403,   404,   404,   404,   404,   404),
        "problem_report":  (  403,   403,   403,   403,   403,   403,   404,   404,   404,   404,   404),
    },
    "installer": {  # member at lilas
        #                     unit  floor   entr   bldg   hood   city o.unit  o.flr  o.ent  o.bld  canal
        "message":         (  404,   404,   404,   403,   403,   403,   404,   404,   404,   404,   404),
        "alert":           (  404,   404,   404,   403,   403,   403,   404,   404,   404,   404,   404),
        "notice":          (  404,   404,   404,   403,   403,   403,   404,   404,   404,   404,   404),
        "help_request":    (  404,   404,   404,   403,   403,   403,   404,   404,   404,   404,   404),
        "service_offer":   (  404,   404,   404,   403,   403,   403,   404,   404,   404,   404,   404),
        "service_request": (  404,   404,   404,   403,   403,   403,   404,   404,   404,   404,   404),
        "lending":         (  404,   404,   404,   403,   403,   403,   404,   404,   404,   404,   404),
        "event":           (  404,   404,   404,   403,   403,   403,   404,   404,   404,   404,   404),
        "promotion":       (  404,   404,   404,   403,   403,   403,   404,   404,   404,   404,   404),
        "lost_found":      (  404,   404,   404,   403,   403,   403,   404,   404,   404,   404,   404),
        "poll":            (  404,   404,   404,   403,   403,   403,   404,   404,   404,   404,   404),
        "problem_report":  (  404,   404,   404,   403,   403,   403,   404,   404,   404,   404,   404),
    },
    "merchant": {  # member at pyramides
        #                     unit  floor   entr   bldg   hood   city o.unit  o.flr  o.ent  o.bld  canal
        "message":         (  404,   404,   404,   404,   403,   403,   404,   404,   404,   404,   404),
        "alert":           (  404,   404,   404,   404,   403,   403,   404,   404,   404,   404,   404),
        "notice":          (  404,   404,   404,   404,   403,   403,   404,   404,   404,   404,   404),
        "help_request":    (  404,   404,   404,   404,   403,   403,   404,   404,   404,   404,   404),
        "service_offer":   (  404,   404,   404,   404,   403,   403,   404,   404,   404,   404,   404),
        "service_request": (  404,   404,   404,   404,   403,   403,   404,   404,   404,   404,   404),
        "lending":         (  404,   404,   404,   404,   403,   403,   404,   404,   404,   404,   404),
        "event":           (  404,   404,   404,   404,   201,   201,   404,   404,   404,   404,   404),
        "promotion":       (  404,   404,   404,   404,   201,   201,   404,   404,   404,   404,   404),
        "lost_found":      (  404,   404,   404,   404,   403,   403,   404,   404,   404,   404,   404),
        "poll":            (  404,   404,   404,   404,   403,   403,   404,   404,   404,   404,   404),
        "problem_report":  (  404,   404,   404,   404,   403,   403,   404,   404,   404,   404,   404),
    },
    "association": {  # member at pyramides
        #                     unit  floor   entr   bldg   hood   city o.unit  o.flr  o.ent  o.bld  canal
        "message":         (  404,   404,   404,   404,   201,   201,   404,   404,   404,   404,   404),
        "alert":           (  404,   404,   404,   404,   403,   403,   404,   404,   404,   404,   404),
        "notice":          (  404,   404,   404,   404,   403,   403,   404,   404,   404,   404,   404),
        "help_request":    (  404,   404,   404,   404,   201,   201,   404,   404,   404,   404,   404),
        "service_offer":   (  404,   404,   404,   404,   403,   403,   404,   404,   404,   404,   404),
        "service_request": (  404,   404,   404,   404,   403,   403,   404,   404,   404,   404,   404),
        "lending":         (  404,   404,   404,   404,   403,   403,   404,   404,   404,   404,   404),
        "event":           (  404,   404,   404,   404,   201,   201,   404,   404,   404,   404,   404),
        "promotion":       (  404,   404,   404,   404,   403,   403,   404,   404,   404,   404,   404),
        "lost_found":      (  404,   404,   404,   404,   403,   403,   404,   404,   404,   404,   404),
        "poll":            (  404,   404,   404,   404,   201,   201,   404,   404,   404,   404,   404),
        "problem_report":  (  404,   404,   404,   404,   403,   403,   404,   404,   404,   404,   404),
    },
    "municipality": {  # member at pyramides
        #                     unit  floor   entr   bldg   hood   city o.unit  o.flr  o.ent  o.bld  canal
        "message":         (  404,   404,   404,   404,   201,   201,   404,   404,   404,   404,   404),
        "alert":           (  404,   404,   404,   404,   403,   403,   404,   404,   404,   404,   404),
        "notice":          (  404,   404,   404,   404,   403,   403,   404,   404,   404,   404,   404),
        "help_request":    (  404,   404,   404,   404,   403,   403,   404,   404,   404,   404,   404),
        "service_offer":   (  404,   404,   404,   404,   403,   403,   404,   404,   404,   404,   404),
        "service_request": (  404,   404,   404,   404,   403,   403,   404,   404,   404,   404,   404),
        "lending":         (  404,   404,   404,   404,   403,   403,   404,   404,   404,   404,   404),
        "event":           (  404,   404,   404,   404,   201,   201,   404,   404,   404,   404,   404),
        "promotion":       (  404,   404,   404,   404,   403,   403,   404,   404,   404,   404,   404),
        "lost_found":      (  404,   404,   404,   404,   201,   201,   404,   404,   404,   404,   404),
        "poll":            (  404,   404,   404,   404,   201,   201,   404,   404,   404,   404,   404),
        "problem_report":  (  404,   404,   404,   404,   403,   403,   404,   404,   404,   404,   404),
    },
    "moderator": {  # member at pyramides
        #                     unit  floor   entr   bldg   hood   city o.unit  o.flr  o.ent  o.bld  canal
        "message":         (  404,   404,   404,   404,   403,   403,   404,   404,   404,   404,   404),
        "alert":           (  404,   404,   404,   404,   403,   403,   404,   404,   404,   404,   404),
        "notice":          (  404,   404,   404,   404,   403,   403,   404,   404,   404,   404,   404),
        "help_request":    (  404,   404,   404,   404,   403,   403,   404,   404,   404,   404,   404),
        "service_offer":   (  404,   404,   404,   404,   403,   403,   404,   404,   404,   404,   404),
        "service_request": (  404,   404,   404,   404,   403,   403,   404,   404,   404,   404,   404),
        "lending":         (  404,   404,   404,   404,   403,   403,   404,   404,   404,   404,   404),
        "event":           (  404,   404,   404,   404,   403,   403,   404,   404,   404,   404,   404),
        "promotion":       (  404,   404,   404,   404,   403,   403,   404,   404,   404,   404,   404),
        "lost_found":      (  404,   404,   404,   404,   403,   403,   404,   404,   404,   404,   404),
        "poll":            (  404,   404,   404,   404,   403,   403,   404,   404,   404,   404,   404),
        "problem_report":  (  404,   404,   404,   404,   403,   403,   404,   404,   404,   404,   404),
    },
    "admin": {  # member at evry
        #                     unit  floor   entr   bldg   hood   city o.unit  o.flr  o.ent  o.bld  canal
        "message":         (  404,   404,   404,   404,   404,   403,   404,   404,   404,   404,   404),
        "alert":           (  404,   404,   404,   404,   404,   403,   404,   404,   404,   404,   404),
        "notice":          (  404,   404,   404,   404,   404,   403,   404,   404,   404,   404,   404),
        "help_request":    (  404,   404,   404,   404,   404,   403,   404,   404,   404,   404,   404),
        "service_offer":   (  404,   404,   404,   404,   404,   403,   404,   404,   404,   404,   404),
        "service_request": (  404,   404,   404,   404,   404,   403,   404,   404,   404,   404,   404),
        "lending":         (  404,   404,   404,   404,   404,   403,   404,   404,   404,   404,   404),
        "event":           (  404,   404,   404,   404,   404,   403,   404,   404,   404,   404,   404),
        "promotion":       (  404,   404,   404,   404,   404,   403,   404,   404,   404,   404,   404),
        "lost_found":      (  404,   404,   404,   404,   404,   403,   404,   404,   404,   404,   404),
        "poll":            (  404,   404,   404,   404,   404,   403,   404,   404,   404,   404,   404),
        "problem_report":  (  404,   404,   404,   404,   404,   403,   404,   404,   404,   404,   404),
    },
}

ACTIONS = ('read', 'comment', 'react', 'still_happening', 'me_too', 'rsvp', 'vote', 'offer_help', 'update_status', 'link_alarm', 'receipts', 'vouch')
ACTION_PLACE = 'lilas'
#: role -> the expected status of each of ACTIONS.
ACT = {
    #                  read comment   react still_h  me_too    rsvp    vote offer_h update_ link_al receipt   vouch
    "resident":     (   200,    201,    200,    200,    200,    200,    201,    201,    403,    403,    403,    200),
    "owner":        (   200,    201,    200,    200,    200,    200,    201,    201,    403,    403,    403,    200),
    "tenant":       (   200,    201,    200,    200,    200,    200,    201,    201,    403,    403,    403,    200),
    "manager":      (   200,    201,    200,    403,    403,    200,    201,    201,    200,    200,    200,    403),
    "syndic":       (   200,    201,    200,    403,    403,    200,    201,    201,    200,    200,    200,    403),
    "landlord":     (   200,    201,    200,    403,    403,    200,    201,    201,    200,    200,    200,    403),
    "installer":    (   200,    201,    200,    403,    403,    200,    201,    201,    403,    403,    403,    403),
    "merchant":     (   404,    404,    404,    404,    404,    404,    404,    404,    404,    404,    404,    403),
    "association":  (   404,    404,    404,    404,    404,    404,    404,    404,    404,    404,    404,    403),
    "municipality": (   404,    404,    404,    404,    404,    404,    404,    404,    404,    404,    404,    403),
    "moderator":    (   404,    404,    404,    404,    404,    404,    404,    404,    404,    404,    404,    403),
    "admin":        (   404,    404,    404,    404,    404,    404,    404,    404,    404,    404,    404,    403),
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
    assert not wrong, f"{role} creating {kind}:\n" + "\n".join(wrong)


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
