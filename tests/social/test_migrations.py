"""The migrations create exactly the models' schema, on SQLite and PostgreSQL, and undo it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Integer, MetaData, String, func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from social.db import Database
from social.errors import DatabaseError
from social.models import Alarm, Base, Member, Membership, Place
from social.places import sync_places
from social.search import include_name
from social.site import PlaceNode

BACKENDS = pytest.mark.parametrize("empty_database", ["sqlite", "postgresql"], indirect=True)


def schema_diff(database: Database, metadata: MetaData) -> list[object]:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True,
                              # the search indexes and the server secret (migration 0005)
                              "include_name": include_name}
        )
        return list(compare_metadata(context, metadata))


@BACKENDS
def test_head_matches_models_and_downgrade_empties(empty_database: Database) -> None:
    empty_database.migrate()

    assert schema_diff(empty_database, Base.metadata) == []

    empty_database.downgrade("base")
    with empty_database.engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) <= {"alembic_version"}


@BACKENDS
def test_the_comparison_sees_a_drift(empty_database: Database) -> None:
    """Guards the test above: a model change the migration lacks must show up."""
    empty_database.migrate()
    drifted = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.sorted_tables:
        table.to_metadata(drifted)
    drifted.tables["posts"].append_column(Column("pinned", Integer))
    drifted.tables["members"].c.username.type = String(10)

    diff = schema_diff(empty_database, drifted)

    assert ("add_column", None, "posts", drifted.tables["posts"].c.pinned) in diff
    assert any(d[0][0] == "modify_type" for d in diff if isinstance(d, list))


@BACKENDS
def test_migrate_twice_is_harmless(empty_database: Database) -> None:
    empty_database.migrate()
    empty_database.migrate()

    with empty_database.engine.connect() as connection:
        version = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    head = ScriptDirectory.from_config(empty_database.alembic_config()).get_current_head()
    assert version == head


@BACKENDS
def test_workers_starting_together_migrate_and_sync_once(
    empty_database: Database, site: list[PlaceNode]
) -> None:
    """Several gateway workers may start at once against one database."""
    errors: list[BaseException] = []

    def start_worker() -> None:
        try:
            empty_database.migrate()
            with empty_database.session() as session:
                sync_places(session, site)
                session.commit()
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    workers = [threading.Thread(target=start_worker) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)

    assert errors == []
    with empty_database.session() as session:
        assert session.scalar(select(func.count()).select_from(Place)) == len(site)


def test_a_database_that_cannot_open_is_reported_with_its_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing' / 'palier.sqlite3'}"
    database = Database(url)

    with pytest.raises(DatabaseError) as error:
        database.migrate()
    assert str(error.value) == f"cannot migrate {url}: unable to open database file"


@BACKENDS
def test_0003_keeps_existing_alarms_and_goes_back(
    empty_database: Database, site: list[PlaceNode]
) -> None:
    """Rows written before the alarm lifecycle get its defaults, and the new checks hold."""
    empty_database.migrate("0002")
    with empty_database.session() as session:
        sync_places(session, site)
        session.commit()
    at = "2026-03-14 10:42:00+00:00"
    with empty_database.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO members (id, username, display_name, password_hash, language, "
            f"created_at) VALUES (1, 'alice', 'Alice', 'x', 'fr', '{at}')"))
        conn.execute(text(
            "INSERT INTO memberships (id, member_id, place_id, role, verified, started_at) "
            f"VALUES (1, 1, 'lilas/b/3/31', 'resident', true, '{at}')"))
        conn.execute(text(
            "INSERT INTO alarms (id, rule_id, device_id, episode, place_id, building_id, "
            "severity, state, title, raised_at, open_key) VALUES (1, 'leak', 'cave', 1, "
            f"'lilas/b', 'lilas', 'critical', 'active', '{{}}', '{at}', 'leak|cave')"))
        conn.execute(text(
            "INSERT INTO posts (id, place_id, kind, content, status, created_at, updated_at, "
            f"alarm_id) VALUES (1, 'lilas', 'alert', '{{}}', 'active', '{at}', '{at}', 1)"))

    empty_database.migrate()

    assert schema_diff(empty_database, Base.metadata) == []
    with empty_database.session() as session:
        member = session.get_one(Member, 1)
        alarm = session.get_one(Alarm, 1)
        assert (member.quiet_start, member.quiet_end) == ("22:00", "07:00")
        assert session.get_one(Membership, 1).on_call is False
        assert (alarm.escalation, alarm.escalated_steps, alarm.evidence, alarm.clear_text,
                alarm.notify_on_call, alarm.state) == ([], 0, [], {}, False, "active")
    with empty_database.engine.begin() as conn:
        conn.execute(text("UPDATE alarms SET state = 'acknowledged' WHERE id = 1"))
        conn.execute(text(  # an alarm may now have a help request beside its alert
            "INSERT INTO posts (id, place_id, kind, content, status, created_at, updated_at, "
            f"alarm_id, data) VALUES (2, 'lilas/b', 'help_request', '{{}}', 'active', '{at}', "
            f"'{at}', 1, '{{}}')"))
    for bad in ("UPDATE alarms SET state = 'snoozed' WHERE id = 1",
                "UPDATE posts SET kind = 'advert' WHERE id = 1"):
        with pytest.raises(IntegrityError), empty_database.engine.begin() as conn:
            conn.execute(text(bad))

    empty_database.downgrade("0002")

    with empty_database.engine.connect() as connection:
        assert connection.execute(text("SELECT id, kind FROM posts")).all() == [(1, "alert")]
        assert connection.execute(text("SELECT state FROM alarms")).scalar() == "active"
