"""The live configuration of a running gateway: hot reload and device commands.

A reload loads and validates the new installation off the event loop; if it is
invalid the running one stays and the errors are kept for the installer. If it is
valid, the pipeline is reconfigured between two messages (nothing queued is
lost), rule states of unchanged rules carry over, and subscriptions follow the
bridges.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from devices.registry import DeviceRegistry
from firmware_bridge.base import Decoder
from firmware_bridge.families import make_decoder, topic_filters
from gateway.config.errors import ConfigError, ConfigIssue
from gateway.config.installation import Installation
from gateway.config.loader import load_installation
from gateway.mqtt_intake import GmqttIntake
from gateway.partition import Partition, PartitionError, per_device_filters, restrict
from gateway.pipeline import Pipeline
from rules.engine import RuleEngine
from social.accounts import seed_members
from social.db import Database
from social.places import sync_places

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReloadResult:
    ok: bool
    at: float
    trigger: str
    errors: tuple[str, ...] = ()
    summary: str = ""
    #: A refused reload's errors and warnings, as structured issues (``errors`` prints them).
    issues: tuple[ConfigIssue, ...] = ()
    warnings: tuple[ConfigIssue, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "at": self.at, "trigger": self.trigger,
                "errors": list(self.errors), "summary": self.summary}


@dataclass
class Routes:
    routes: list[tuple[str, Decoder]] = field(default_factory=list)
    filters: list[str] = field(default_factory=list)
    decoders: dict[str, tuple[object, Decoder]] = field(default_factory=dict)


def build_routes(installation: Installation, previous: Routes | None = None, *,
                 shared: frozenset[str] = frozenset()) -> Routes:
    """A decoder per bridge; an unchanged bridge keeps its decoder (and any state it holds).

    Bridges in ``shared`` (a partitioned worker owns only some of their devices) are
    subscribed device by device where their topics allow it.
    """
    built = Routes()
    for bridge_file in installation.bridges:
        spec = bridge_file.bridge
        identity = (spec, tuple(d.layouts.items() for d in bridge_file.devices))
        kept = previous.decoders.get(spec.id) if previous else None
        decoder = kept[1] if kept and kept[0] == identity else make_decoder(
            spec, bridge_file.devices)
        built.decoders[spec.id] = (identity, decoder)
        built.routes.append((spec.id, decoder))
        filters = topic_filters(decoder)
        if spec.id in shared:
            filters = per_device_filters(filters, [d.source for d in bridge_file.devices])
        built.filters.extend(filters)
    return built


def summary(installation: Installation) -> str:
    devices = sum(len(b.devices) for b in installation.bridges)
    bridges, rules = len(installation.bridges), len(installation.rules)
    return f"{bridges} bridges, {devices} devices, {rules} rules"


class Runtime:
    def __init__(self, installation: Installation, database: Database, pipeline: Pipeline,
                 intake: GmqttIntake, routes: Routes, *, partition: Partition | None = None
                 ) -> None:
        self.installation = installation
        self.partition = partition or Partition()
        #: (bridge, source) of devices other workers own: their traffic is not unclaimed.
        self.foreign: frozenset[tuple[str, str]] = frozenset()
        self.database = database
        self.pipeline = pipeline
        self.intake = intake
        self._routes = routes
        self._lock = asyncio.Lock()
        self.last_reload: ReloadResult | None = None
        #: When the running configuration was loaded (start-up, then each good reload).
        self.loaded_at = time.time()
        #: The last reload refused for errors, kept after a later good one (then stale).
        self.last_failure: ReloadResult | None = None
        #: Called with the new installation after a successful reload (sinks, caches).
        self.on_reload: list[Callable[[Installation], None]] = []

    def decoder_for(self, bridge_id: str) -> Decoder | None:
        kept = self._routes.decoders.get(bridge_id)
        return kept[1] if kept else None

    def config_state(self) -> dict[str, Any]:
        return {
            "root": str(self.installation.root),
            "summary": summary(self.installation),
            "warnings": [str(w) for w in getattr(self.installation, "warnings", ())],
            "last_reload": self.last_reload.as_dict() if self.last_reload else None,
        }

    def _sync_database(self, installation: Installation) -> None:
        with self.database.session() as session:
            sync_places(session, list(installation.places.values()))
            seed_members(session, installation.members)
            session.commit()

    async def reload(self, trigger: str) -> ReloadResult:
        async with self._lock:
            root = self.installation.root
            try:
                loaded = await asyncio.to_thread(load_installation, root)
                restricted = restrict(loaded, self.partition)
                new = restricted.installation
                await asyncio.to_thread(self._sync_database, new)
                routes = build_routes(new, self._routes, shared=restricted.shared)
            except (ConfigError, PartitionError, SQLAlchemyError) as exc:
                # A database that is busy or away refuses this reload, not the gateway:
                # the running configuration stays and the next trigger tries again.
                issues = exc.issues if isinstance(exc, ConfigError) else (
                    f"{root}: {exc}" if isinstance(exc, PartitionError)
                    else f"{root}: the database refused the new places and members: "
                         f"{getattr(exc, 'orig', None) or exc}",)
                result = ReloadResult(
                    False, time.time(), trigger, tuple(str(i) for i in issues),
                    issues=tuple(exc.issues) if isinstance(exc, ConfigError) else (),
                    warnings=tuple(exc.warnings) if isinstance(exc, ConfigError) else ())
                self.last_failure = result
                log.error("reload (%s) refused, the running configuration stays:\n%s",
                          trigger, "\n".join(result.errors))
                self.last_reload = result
                return result
            registry = DeviceRegistry(new.bridges)
            engine = RuleEngine(new.rules, registry, new.places)
            engine.adopt_states(self.pipeline.engine)
            self.pipeline.reconfigure(routes.routes, registry, engine)
            self._routes = routes
            self.installation = new
            self.foreign = self.pipeline.foreign = restricted.foreign
            await self.intake.set_filters(routes.filters)
            for hook in self.on_reload:
                hook(new)
            result = ReloadResult(True, time.time(), trigger, summary=summary(new))
            self.loaded_at = result.at
            log.info("reloaded (%s): %s", trigger, result.summary)
            self.last_reload = result
            return result
