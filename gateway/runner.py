"""Turns ``palier run`` / ``palier demo`` arguments into a running gateway, with signals."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import signal
import sys
from pathlib import Path

from devices.durations import parse_duration
from gateway.app import Gateway
from gateway.broker_url import BrokerUrl
from gateway.config.errors import ConfigError
from gateway.config.installation import Installation
from gateway.config.loader import load_installation
from gateway.partition import Partition, PartitionError
from gateway.secrets import secret
from gateway.settings import Settings, parse_listen

log = logging.getLogger("palier")

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_CONFIG = REPO_ROOT / "config" / "demo"


def _broker(url: str | None) -> BrokerUrl | None:
    """The broker URL; its password from ``PALIER_BROKER_PASSWORD(_FILE)`` when set there,
    so that it is in no URL, no shell history and no YAML (gateway.secrets)."""
    if not url:
        return None
    broker = BrokerUrl.parse(url)
    password = secret("PALIER_BROKER_PASSWORD")
    return dataclasses.replace(broker, password=password) if password is not None else broker


def _settings(args: argparse.Namespace, demo: bool) -> Settings:
    config_dir = args.config or DEMO_CONFIG
    partition = Partition()
    if getattr(args, "partition", None) and getattr(args, "buildings", None):
        raise ValueError("give --partition or --buildings, not both")
    if getattr(args, "partition", None):
        partition = Partition.parse(args.partition)
    elif getattr(args, "buildings", None):
        partition = Partition.of_buildings(args.buildings.split(","))
    partition_relay = not partition.whole
    if partition_relay and not args.broker:
        raise ValueError("--partition and --buildings need --broker: workers share one broker")
    relay = getattr(args, "relay_events", None)
    return Settings(
        config_dir=config_dir,
        broker=_broker(args.broker),
        database_url=args.database or secret("PALIER_DATABASE_URL"),
        listen=parse_listen(args.listen),
        var_dir=Path("var") / ("demo" if demo else ""),
        simulate=demo or getattr(args, "simulate", False),
        simulator_speed=getattr(args, "speed", 1.0),
        client_id="palier-demo" if demo else "palier-gateway",
        embedded_broker=args.embedded_broker,
        ca_file=args.broker_ca,
        telemetry_url=args.telemetry,
        telemetry_raw_retention=parse_duration(args.telemetry_raw_retention),
        influx_url=args.influx_url,
        influx_org=args.influx_org,
        influx_bucket=args.influx_bucket,
        partition=partition,
        relay_events=partition_relay if relay is None else relay,
    )


def _banner(installation: Installation, settings: Settings) -> str:
    host, port = settings.listen
    lines = [
        "",
        "Palier demo — Évry-Courcouronnes",
        f"  Web pages (log in with a demo login): http://{host}:{port}/",
        f"  API and OpenAPI docs: http://{host}:{port}/docs",
        f"  Feed:   curl -H 'Authorization: Bearer TOKEN' http://{host}:{port}/api/feed",
        "  Demo logins (password for each: the one shown):",
    ]
    for member in installation.members:
        places = ", ".join(f"{m.role} @ {m.place}" for m in member.memberships)
        lines.append(f"    {member.username:<14} {member.password:<8} {places}")
    lines.append("  A basement leak starts in about 20 s and clears after a few minutes.")
    lines.append("  Stop with Ctrl-C.")
    return "\n".join(lines)


async def _serve(gateway: Gateway) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, gateway.stop)
    loop.add_signal_handler(signal.SIGHUP, gateway.request_reload, "SIGHUP")
    await gateway.run()


def run_from_args(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("gmqtt", "alembic", "amqtt", "transitions"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    demo = args.command == "demo"
    try:
        settings = _settings(args, demo)
    except ValueError as exc:
        print(f"palier: {exc}", file=sys.stderr)
        return 2
    try:
        installation = load_installation(settings.config_dir)
    except ConfigError as exc:
        for issue in (*exc.issues, *exc.warnings):
            print(issue, file=sys.stderr)
        print(f"palier: {settings.config_dir} is not valid; nothing started", file=sys.stderr)
        return 1
    for warning in installation.warnings:
        log.warning("%s", warning)
    banner = _banner(installation, settings) if demo else None
    try:
        gateway = Gateway(settings, installation,
                          on_ready=(lambda _running: print(banner, flush=True)) if banner else None)
    except PartitionError as exc:
        print(f"palier: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_serve(gateway))
    except OSError as exc:  # the API port or the embedded broker could not start
        print(f"palier: {exc}", file=sys.stderr)
        return 1
    return 0
