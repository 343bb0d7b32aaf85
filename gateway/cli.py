"""The ``palier`` command: ``run``, ``demo``, ``validate``, ``record`` and ``replay``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="palier", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the gateway and the HTTP API in one process")
    run.add_argument("--config", type=Path, required=True, help="installation directory")
    run.add_argument("--broker", default=os.environ.get("PALIER_BROKER_URL"),
                     help="mqtt://HOST:PORT (default: start an embedded broker)")
    run.add_argument("--database", default=os.environ.get("PALIER_DATABASE_URL"),
                     help="SQLAlchemy URL (default: sqlite under ./var)")
    run.add_argument("--listen", default=os.environ.get("PALIER_LISTEN", "127.0.0.1:8000"),
                     help="HOST:PORT of the HTTP API")
    run.add_argument("--simulate", action="store_true", help="also run the device simulator")
    run.add_argument("--partition", default=os.environ.get("PALIER_PARTITION"), metavar="N/M",
                     help="run as worker N of M, owning the buildings that hash to slot N "
                          "(each worker needs its own --listen)")
    run.add_argument("--buildings", default=os.environ.get("PALIER_BUILDINGS"),
                     metavar="ID,ID", help="run as the worker of these buildings only")
    run.add_argument("--relay-events", action=argparse.BooleanOptionalAction,
                     default=os.environ.get("PALIER_RELAY_EVENTS", "").lower()
                     in ("1", "true", "yes") or None,
                     help="exchange live events with other Palier processes over the broker "
                          "(default: on with --partition or --buildings)")

    demo = sub.add_parser("demo", help="run the demo building with simulated devices")
    demo.add_argument("--config", type=Path, default=None, help="default: the bundled config/demo")
    demo.add_argument("--listen", default=os.environ.get("PALIER_LISTEN", "127.0.0.1:8000"))
    demo.add_argument("--broker", default=os.environ.get("PALIER_BROKER_URL"))
    demo.add_argument("--database", default=os.environ.get("PALIER_DATABASE_URL"))
    demo.add_argument("--speed", type=float, default=1.0, help="simulated time speed-up")

    for command in (run, demo):
        command.add_argument("--telemetry", default=os.environ.get("PALIER_TELEMETRY_URL"),
                             help="database URL of the telemetry store "
                                  "(default: SQLite at var/telemetry.sqlite3)")
        command.add_argument("--telemetry-raw-retention",
                             default=os.environ.get("PALIER_TELEMETRY_RAW_RETENTION", "7d"),
                             help="how long raw readings are kept (roll-ups longer)")
        command.add_argument("--influx-url", default=os.environ.get("PALIER_INFLUX_URL"),
                             help="InfluxDB v2 URL: also write readings there "
                                  "(token from PALIER_INFLUX_TOKEN)")
        command.add_argument("--influx-org", default=os.environ.get("PALIER_INFLUX_ORG", ""))
        command.add_argument("--influx-bucket",
                             default=os.environ.get("PALIER_INFLUX_BUCKET", ""))
        command.add_argument(
            "--broker-ca", default=os.environ.get("PALIER_BROKER_CA"),
            help="CA certificate file for an mqtts:// broker (default: the system's CAs)",
        )
        command.add_argument(
            "--embedded-broker", choices=("auto", "mosquitto", "amqtt"),
            default=os.environ.get("PALIER_EMBEDDED_BROKER", "auto"),
            help="the broker to start when --broker is not given (auto: Mosquitto if on PATH)",
        )

    validate = sub.add_parser("validate", help="check an installation; errors as file:line:column")
    validate.add_argument("--config", type=Path, required=True)

    record = sub.add_parser("record", help="capture the live traffic of an installation's bridges")
    record.add_argument("--config", type=Path, required=True, help="installation directory")
    record.add_argument("--out", required=True, help="JSON Lines file to write ('-': stdout)")
    record.add_argument("--broker", default=os.environ.get("PALIER_BROKER_URL"),
                        help="mqtt://HOST:PORT (default: $PALIER_BROKER_URL, "
                             "else mqtt://127.0.0.1:1883)")
    record.add_argument("--duration", type=_duration, default=None,
                        help="stop after this long, e.g. 90s, 10m, 1h (default: Ctrl-C)")
    record.add_argument("--count", type=_positive_int, default=None,
                        help="stop after this many messages")

    replay = sub.add_parser("replay", help="run the rules over recorded traffic in simulated "
                                           "time and print what would have happened")
    replay.add_argument("recording", type=Path, help="a file written by `palier record`")
    replay.add_argument("--config", type=Path, required=True, help="installation directory")
    replay.add_argument("--acknowledge-after", type=_duration, default=None, metavar="DURATION",
                        help="have a manager acknowledge every alarm this long after it is raised")
    replay.add_argument("--tail", type=_duration, default=None, metavar="DURATION",
                        help="simulated time to run on after the last message (default: the "
                             "longest timer a rule or escalation can hold)")
    replay.add_argument("--timezone", default="Europe/Paris",
                        help="time zone of the timeline (default: Europe/Paris)")
    replay.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    return parser


def _duration(text: str) -> float:
    """An argparse type: ``90s``, ``10m``, ``1h30m`` in seconds; argparse reports the error."""
    from devices.durations import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "validate":
        from gateway.config.validate import run_validate

        return run_validate(args.config)
    if args.command == "record":
        from gateway.record import run_record

        return run_record(args.config, args.out, args.broker, duration=args.duration,
                          count=args.count)
    if args.command == "replay":
        from gateway.replay import run_replay

        return run_replay(args.recording, args.config, acknowledge_after=args.acknowledge_after,
                          tail=args.tail, timezone=args.timezone, progress=not args.no_progress)
    from gateway.runner import run_from_args

    return run_from_args(args)


if __name__ == "__main__":
    sys.exit(main())
