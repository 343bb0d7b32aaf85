"""A reload that the database refuses is refused; the gateway and its configuration stay."""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import MosquittoServer
from tests.integration.harness import INSTALLATION, ApiUser, GatewayThread, settings_for


@pytest.fixture
def setup(mosquitto: MosquittoServer, tmp_path: Path) -> Iterator[tuple[GatewayThread, Path, Path]]:
    config = tmp_path / "installation"
    shutil.copytree(INSTALLATION, config)
    database = tmp_path / "palier.sqlite3"
    settings = settings_for(mosquitto.url, f"sqlite:///{database}", tmp_path,
                            f"reload-db-{tmp_path.name}", config_dir=config)
    thread = GatewayThread(dataclasses.replace(settings, watch_config=False))
    thread.start()
    try:
        yield thread, config, database
    finally:
        thread.stop()


def test_a_database_error_during_reload_refuses_it_and_keeps_running(
        setup: tuple[GatewayThread, Path, Path]) -> None:
    thread, config, database = setup
    running = thread.gateway.running
    site = config / "site.yaml"
    site.write_text(site.read_text(encoding="utf-8") + (
        "      - id: acacias\n        name: Résidence Les Acacias\n"
        "        entrances: {a: {floors: 1}}\n"), encoding="utf-8")
    with sqlite3.connect(database) as conn:  # the database refuses new places
        conn.execute("CREATE TRIGGER refuse_places BEFORE INSERT ON places "
                     "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")
    with ApiUser(running.api_url, "installateur") as installer:
        reply = installer.http.post("/api/admin/reload")
        assert reply.status_code == 422, reply.text
        assert any("refused by the test" in error for error in reply.json()["errors"])
        assert "acacias" not in thread.gateway.runtime.installation.places
        assert thread.error is None and running.intake.connected.is_set()

        with sqlite3.connect(database) as conn:
            conn.execute("DROP TRIGGER refuse_places")
        reply = installer.http.post("/api/admin/reload")
        assert reply.status_code == 200 and reply.json()["ok"] is True, reply.text
        assert "acacias" in thread.gateway.runtime.installation.places
