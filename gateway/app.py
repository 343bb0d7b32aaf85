"""Wires one Palier process: broker, database, pipeline, intake, rule timers and the HTTP API.

``Gateway.run`` owns every long-lived object. Shutdown is ordered: stop taking
messages, finish and acknowledge those in flight, disconnect, stop the API,
close the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass

import uvicorn

from devices.records import Reading
from devices.registry import DeviceRegistry
from gateway.api import GATEWAY_ROUTERS
from gateway.commands import CommandSender
from gateway.config.installation import Installation
from gateway.config.loader import load_installation
from gateway.embedded_broker import EmbeddedBroker
from gateway.event_relay import EventRelay
from gateway.mqtt_intake import GmqttIntake
from gateway.outbox import OutboxDispatcher
from gateway.partition import restrict
from gateway.pipeline import Pipeline
from gateway.processor import Processor, ReadingSink
from gateway.redelivery import DeliveryLog
from gateway.runtime import Runtime, build_routes
from gateway.settings import Settings
from gateway.store import AlarmStore
from gateway.telemetry.influx import InfluxSink, token_from_env
from gateway.telemetry.retention import Retention, TelemetryMaintenance
from gateway.telemetry.store import TelemetryStore
from rules.engine import RuleEngine
from social.accounts import seed_members
from social.api.app import create_app
from social.db import Database, default_sqlite_url
from social.digest import DigestScheduler
from social.events import install_event_hub
from social.places import sync_places

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the gateway decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind_listener(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: with protocol 0 asyncio does not set TCP_NODELAY on API
    # connections, and each keep-alive response waits for a delayed ACK (40 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.listen(256)
    sock.setblocking(False)
    return sock


class _Submitted:
    """The InfluxDB sink as a reading sink: it only appends to its disk buffer."""

    def __init__(self, sink: InfluxSink) -> None:
        self._sink = sink

    def write_batch(self, readings: Sequence[Reading]) -> None:
        self._sink.submit(readings)


@dataclass
class Running:
    """What a running gateway exposes to tests and the API."""

    installation: Installation
    database: Database
    pipeline: Pipeline
    processor: Processor
    intake: GmqttIntake
    broker_url: str
    api_url: str
    runtime: Runtime


class Gateway:
    def __init__(
        self,
        settings: Settings,
        installation: Installation | None = None,
        *,
        on_ready: Callable[[Running], None] | None = None,
    ) -> None:
        self.settings = settings
        restricted = restrict(installation or load_installation(settings.config_dir),
                              settings.partition)
        #: The part of the installation this worker owns (all of it for one process).
        self.installation = restricted.installation
        self.foreign = restricted.foreign
        self.shared_bridges = restricted.shared
        if not settings.partition.whole:
            log.info("worker %s: %d devices of this worker's buildings, %d left to others",
                     settings.partition.label, restricted.devices_kept,
                     restricted.devices_dropped)
        self._stop = asyncio.Event()
        self._on_ready = on_ready
        self.running: Running | None = None
        self.runtime: Runtime | None = None
        self._tasks: set[asyncio.Task[object]] = set()
        #: Live events exchanged with other processes (``relay_events``), once running.
        self.relay: EventRelay | None = None

    def stop(self) -> None:
        self._stop.set()

    def _prepare_database(self) -> Database:
        s = self.settings
        s.var_dir.mkdir(parents=True, exist_ok=True)
        database = Database(s.database_url or default_sqlite_url(s.var_dir))
        database.migrate()
        with database.session() as session:
            sync_places(session, list(self.installation.places.values()))
            seed_members(session, self.installation.members)
            session.commit()
        return database

    async def run(self) -> None:
        inst, s = self.installation, self.settings
        async with AsyncExitStack() as stack:
            mqtt5 = True
            if s.broker is None:
                broker = await stack.enter_async_context(
                    EmbeddedBroker(s.var_dir, kind=s.embedded_broker))
                broker_url, mqtt5 = broker.url, broker.kind == "mosquitto"
            else:
                broker_url = s.broker
            database = await asyncio.to_thread(self._prepare_database)
            stack.callback(database.dispose)
            # Posts and alarms committed anywhere (API, rules) reach the live stream.
            hub = install_event_hub(database)
            digests = DigestScheduler.from_env(database)
            store = AlarmStore(database)

            registry = DeviceRegistry(inst.bridges)
            engine = RuleEngine(inst.rules, registry, inst.places)
            # Resume pending timers and episodes where the last run left them.
            engine.load_states(await asyncio.to_thread(store.load_rule_states))
            engine.restore(await asyncio.to_thread(store.open_alarm_keys))
            routes = build_routes(inst, shared=self.shared_bridges)
            pipeline = Pipeline(routes.routes, registry, engine)
            store_telemetry = TelemetryStore.open(
                s.telemetry_url, s.var_dir, retention=Retention(raw=s.telemetry_raw_retention),
                journal=True)  # SQLite: a batch is appended, filed in bulk every second
            await asyncio.to_thread(store_telemetry.start)
            stack.callback(store_telemetry.close)
            telemetry: list[ReadingSink] = [store_telemetry]
            influx = None
            if s.influx_url:
                influx = InfluxSink(
                    s.influx_url, s.influx_org, s.influx_bucket, token_from_env(),
                    device_lookup=lambda device_id: pipeline.registry.get(device_id),
                    places=inst.places, buffer_dir=s.var_dir / "influx-buffer")
                influx.start()
                stack.callback(influx.close)  # after the processor has drained
                telemetry.append(_Submitted(influx))
            # What this session already stored, so a redelivery after a crash is not stored
            # twice (gateway.redelivery).
            deliveries = DeliveryLog(store_telemetry, s.partition.client_id(s.client_id))
            await asyncio.to_thread(deliveries.start)
            processor = Processor(pipeline, store, telemetry=telemetry, deliveries=deliveries)
            intake = GmqttIntake(broker_url, s.partition.client_id(s.client_id), routes.filters,
                                 ca_file=s.ca_file, mqtt5=mqtt5)
            runtime = Runtime(inst, database, pipeline, intake, routes, partition=s.partition)
            runtime.foreign = pipeline.foreign = self.foreign
            if influx is not None:
                sink = influx
                runtime.on_reload.append(lambda new: sink.reconfigure(
                    device_lookup=lambda device_id: pipeline.registry.get(device_id),
                    places=new.places))
            self.runtime = runtime
            outbox = await stack.enter_async_context(
                OutboxDispatcher(database, send_command=CommandSender.for_runtime(runtime)))

            host, port = s.listen
            listener = bind_listener(host, port)
            app = create_app(database)
            app.state.gateway = runtime
            app.state.telemetry = store_telemetry
            app.state.influx = influx  # its counters in /api/gateway/status
            for router in GATEWAY_ROUTERS:
                app.include_router(router)
            server = _Server(uvicorn.Config(app, log_level="warning", lifespan="off",
                                            access_log=False))
            api_url = f"http://{host}:{listener.getsockname()[1]}"

            simulator = None
            if s.simulate:
                from devices.simulator import Simulator

                simulator = Simulator(inst, broker_url.host, broker_url.port,
                                      speed=s.simulator_speed)

            async with asyncio.TaskGroup() as group:
                intake_task = group.create_task(intake.run(processor.submit, offer=processor.offer),
                                                name="mqtt-intake")
                processor_task = group.create_task(processor.run(), name="processor")
                outbox_task = group.create_task(outbox.run(), name="outbox")
                # Once per installation, not once per worker: the leader runs them.
                leader = s.partition.leader
                upkeep_task = (group.create_task(TelemetryMaintenance(store_telemetry).run(),
                                                 name="telemetry-retention")
                               if leader else None)
                digest_task = (group.create_task(digests.run(), name="daily-digest")
                               if digests is not None and leader else None)
                relay_task = None
                if s.relay_events:
                    relay = self.relay = EventRelay(hub, broker_url, ca_file=s.ca_file)
                    relay_task = group.create_task(relay.run(), name="event-relay")
                watch_task = None
                if s.watch_config:
                    watch_task = group.create_task(self._watch(runtime), name="config-watch")
                server_task = group.create_task(server.serve(sockets=[listener]), name="http-api")
                while not server.started and not server_task.done():  # noqa: ASYNC110
                    await asyncio.sleep(0.02)
                if simulator is not None:
                    await asyncio.to_thread(simulator.start)
                log.info("Palier is up: API %s, broker %s, %d devices, %d rule bindings",
                         api_url, broker_url, len(registry), engine.binding_count)
                self.running = Running(inst, database, pipeline, processor, intake,
                                       str(broker_url), api_url, runtime)
                if self._on_ready is not None:
                    self._on_ready(self.running)
                await self._stop.wait()

                log.info("stopping: intake, in-flight messages, API")
                if simulator is not None:
                    await asyncio.to_thread(simulator.stop)
                await processor.drain()
                await asyncio.sleep(0.05)  # let the last PUBACKs leave the socket
                await intake.stop()
                await intake_task
                hub.close()  # ends open streams, or uvicorn would wait for them
                server.should_exit = True
                await server_task
                processor_task.cancel()
                outbox_task.cancel()
                for optional in (upkeep_task, relay_task):
                    if optional is not None:
                        optional.cancel()
                if digest_task is not None:
                    digest_task.cancel()
                if watch_task is not None:
                    watch_task.cancel()
            listener.close()

    def request_reload(self, trigger: str) -> None:
        """Reload from a signal handler (SIGHUP); errors are logged and kept for the API."""
        if self.runtime is not None:
            task = asyncio.get_running_loop().create_task(self.runtime.reload(trigger))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _watch(self, runtime: Runtime) -> None:
        """Reload when a YAML file of the installation changes (debounced by watchfiles)."""
        from watchfiles import awatch

        async for changes in awatch(runtime.installation.root, debounce=400, step=100,
                                    stop_event=self._stop):
            if any(path.endswith((".yaml", ".yml")) for _, path in changes):
                await runtime.reload("file change")
