"""The ``palier`` command: ``run``, ``demo`` and ``validate``."""

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

    demo = sub.add_parser("demo", help="run the demo building with simulated devices")
    demo.add_argument("--config", type=Path, default=None, help="default: the bundled config/demo")
    demo.add_argument("--listen", default=os.environ.get("PALIER_LISTEN", "127.0.0.1:8000"))
    demo.add_argument("--broker", default=os.environ.get("PALIER_BROKER_URL"))
    demo.add_argument("--database", default=os.environ.get("PALIER_DATABASE_URL"))
    demo.add_argument("--speed", type=float, default=1.0, help="simulated time speed-up")

    for command in (run, demo):
        command.add_argument(
            "--embedded-broker", choices=("auto", "mosquitto", "amqtt"),
            default=os.environ.get("PALIER_EMBEDDED_BROKER", "auto"),
            help="the broker to start when --broker is not given (auto: Mosquitto if on PATH)",
        )

    validate = sub.add_parser("validate", help="check an installation; errors as file:line:column")
    validate.add_argument("--config", type=Path, required=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "validate":
        from gateway.config.validate import run_validate

        return run_validate(args.config)
    from gateway.runner import run_from_args

    return run_from_args(args)


if __name__ == "__main__":
    sys.exit(main())
