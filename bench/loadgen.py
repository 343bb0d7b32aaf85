"""An HTTP load generator in its own process: N concurrent clients on one GET route.

``python -m bench.loadgen --url http://127.0.0.1:PORT --tokens FILE --clients 50
--seconds 10`` runs closed-loop clients (each sends its next request as soon as the
previous answer arrived, no think time) for the given time after a warm-up; each
request is made as a member drawn at random from the tokens file (one bearer token a
line). Prints one JSON line: request count, errors, rate and latency percentiles.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from bench.stats import percentile


async def _client(http: httpx.AsyncClient, path: str, tokens: list[str], rng: random.Random,
                  stop_at: float, record_from: float, out: list[float],
                  errors: list[int]) -> None:
    while True:
        now = time.perf_counter()
        if now >= stop_at:
            return
        headers = {"Authorization": f"Bearer {rng.choice(tokens)}"}
        began = time.perf_counter()
        try:
            reply = await http.get(path, headers=headers)
            ok = reply.status_code == 200
        except httpx.HTTPError:
            ok = False
        took = time.perf_counter() - began
        if began >= record_from:
            if ok:
                out.append(took)
            else:
                errors.append(1)


async def run(url: str, path: str, tokens: list[str], clients: int, seconds: float,
              warmup: float) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    latencies: list[float] = []
    errors: list[int] = []
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as http:
        start = time.perf_counter()
        record_from = start + warmup
        stop_at = record_from + seconds
        await asyncio.gather(*(
            _client(http, path, tokens, random.Random(i), stop_at, record_from, latencies,
                    errors)
            for i in range(clients)))
    ms = sorted(x * 1000 for x in latencies)
    return {
        "clients": clients, "seconds": seconds, "requests": len(ms), "errors": len(errors),
        "rate": len(ms) / seconds,
        "p50_ms": percentile(ms, 50), "p90_ms": percentile(ms, 90),
        "p99_ms": percentile(ms, 99), "max_ms": ms[-1] if ms else 0.0,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--path", default="/api/feed")
    parser.add_argument("--tokens", required=True, type=Path)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    args = parser.parse_args(argv)
    tokens = [t for t in args.tokens.read_text().splitlines() if t]
    result = asyncio.run(run(args.url, args.path, tokens, args.clients, args.seconds,
                             args.warmup))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
