"""The peer: Node-RED doing parse, check and count on the same backlog (``--peers``).

Node-RED 4 is installed with npm into ``bench/.peers`` (ignored by git) the first
time it is needed. Its flow is the smallest fair rival to Palier's pipeline: an
``mqtt in`` node (MQTT 5, QoS 1, persistent session) → a function node that parses
the payload (JSON or plain text) and applies the same kinds of threshold checks as
the generated rules (leak, smoke, temperatures, humidity, CO₂, boiler pressure,
power) → a count kept in global context. An ``http in`` route reports the count and
the times of the first and last message, which is how the bench reads the rate.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from bench import BenchError
from bench.procs import REPO, free_port, start, stop, wait_for_port

PEERS = REPO / "bench" / ".peers"
NODE_RED = PEERS / "node_modules" / "node-red" / "red.js"
VERSION = "4"

_CHECK = r"""
const s = global.get('bench');
const p = msg.payload;
let alert = false;
if (p.length > 0 && (p[0] === '{' || p[0] === '[')) {
    const v = JSON.parse(p);
    if (v.water_leak === true || v.smoke === true || v.fault === true) alert = true;
    const c = v.temperature;
    if (typeof c === 'number' && (c < 14 || c > 28)) alert = true;
    if (typeof v.humidity === 'number' && v.humidity > 80) alert = true;
    if (v.battery_low === true) alert = true;
    const e = v.ENERGY;
    if (e && typeof e.Power === 'number' && e.Power > 9000) alert = true;
    const sw = v.params && v.params['switch:0'];
    if (sw && sw.output === false) alert = true;
} else {
    const t = msg.topic;
    const x = parseFloat(p);
    if (t.endsWith('/co2/state') && x > 1500) alert = true;
    else if (t.endsWith('/pressure/state') && x < 0.8) alert = true;
    else if (t.endsWith('/flow/state') && x > 30) alert = true;
    else if (t.endsWith('/fault/state') && p === 'ON') alert = true;
}
s.n += 1;
const now = Date.now();
if (s.n === 1) s.first = now;
s.last = now;
if (alert) s.alerts += 1;
return null;
"""

_STATS = """
const s = global.get('bench');
msg.payload = {n: s.n, first: s.first, last: s.last, alerts: s.alerts};
return msg;
"""


def ensure_installed(log: Path, timeout: float = 300.0) -> None:
    """Install Node-RED into ``bench/.peers`` unless it is there; BenchError says why not."""
    if NODE_RED.exists():
        return
    npm, node = shutil.which("npm"), shutil.which("node")
    if not npm or not node:
        raise BenchError("Node.js and npm are not installed (apt-get install nodejs npm)")
    PEERS.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        try:
            done = subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--omit=dev", "--prefix",
                 str(PEERS), f"node-red@{VERSION}"],
                stdout=out, stderr=out, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise BenchError(f"npm install node-red did not finish in {timeout:g} s "
                             f"(log: {log})") from None
    if done.returncode != 0 or not NODE_RED.exists():
        raise BenchError(f"npm could not install node-red@{VERSION} here (log: {log})")


def version() -> str:
    package = NODE_RED.parent / "package.json"
    return str(json.loads(package.read_text())["version"]) if package.exists() else "?"


def _flow(broker_port: int, client_id: str) -> list[dict[str, Any]]:
    return [
        {"id": "tab", "type": "tab", "label": "bench"},
        {"id": "broker", "type": "mqtt-broker", "name": "bench", "broker": "127.0.0.1",
         "port": str(broker_port), "clientid": client_id, "autoConnect": True,
         "usetls": False, "protocolVersion": "5", "keepalive": "60", "cleansession": False,
         "sessionExpiry": "3600"},
        {"id": "in", "type": "mqtt in", "z": "tab", "name": "", "topic": "#", "qos": "1",
         "datatype": "utf8", "broker": "broker", "nl": False, "rap": True, "rh": 0,
         "inputs": 0, "x": 100, "y": 100, "wires": [["check"]]},
        {"id": "check", "type": "function", "z": "tab", "name": "parse, check, count",
         "func": _CHECK, "outputs": 1, "timeout": 0, "noerr": 0,
         "initialize": "global.set('bench', {n: 0, first: 0, last: 0, alerts: 0});",
         "finalize": "", "libs": [], "x": 300, "y": 100, "wires": [[]]},
        {"id": "stats-in", "type": "http in", "z": "tab", "name": "", "url": "/bench-stats",
         "method": "get", "upload": False, "x": 100, "y": 200, "wires": [["stats"]]},
        {"id": "stats", "type": "function", "z": "tab", "name": "stats", "func": _STATS,
         "outputs": 1, "timeout": 0, "noerr": 0, "initialize": "", "finalize": "", "libs": [],
         "x": 300, "y": 200, "wires": [["stats-out"]]},
        {"id": "stats-out", "type": "http response", "z": "tab", "name": "", "statusCode": "",
         "headers": {}, "x": 500, "y": 200, "wires": []},
    ]


def _settings(port: int) -> str:
    return (
        "module.exports = {\n"
        f"  uiPort: {port},\n"
        "  uiHost: '127.0.0.1',\n"
        "  flowFile: 'flows.json',\n"
        "  flowFilePretty: true,\n"
        "  credentialSecret: false,\n"
        "  httpAdminRoot: false,\n"
        "  logging: {console: {level: 'warn', metrics: false, audit: false}},\n"
        "  diagnostics: {enabled: false, ui: false},\n"
        "  runtimeState: {enabled: false, ui: false},\n"
        "  telemetry: {enabled: false},\n"
        "  functionExternalModules: false,\n"
        "};\n"
    )


def drain(workdir: Path, broker_port: int, client_id: str, expect: int,
          timeout: float) -> dict[str, Any]:
    """Start Node-RED on a primed session and wait until it counted ``expect`` messages."""
    userdir = workdir / "nodered"
    userdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    (userdir / "settings.js").write_text(_settings(port))
    (userdir / "flows.json").write_text(json.dumps(_flow(broker_port, client_id), indent=1))
    node = shutil.which("node") or "node"
    proc = start([node, str(NODE_RED), "--userDir", str(userdir), "--settings",
                  str(userdir / "settings.js")], cwd=userdir, log=workdir / "nodered.log")
    try:
        wait_for_port(port, timeout=60, proc=proc)
        deadline = time.monotonic() + timeout
        stats: dict[str, Any] = {"n": 0}
        while True:
            try:
                stats = httpx.get(f"http://127.0.0.1:{port}/bench-stats", timeout=10).json()
            except (httpx.HTTPError, ValueError):
                stats = {"n": 0}
            if stats["n"] >= expect:
                break
            if proc.poll() is not None:
                raise BenchError(f"Node-RED exited (log: {workdir / 'nodered.log'})")
            if time.monotonic() > deadline:
                raise BenchError(f"Node-RED counted {stats['n']} of {expect} messages "
                                 f"in {timeout:g} s")
            time.sleep(0.25)
    finally:
        stop(proc)
    seconds = (stats["last"] - stats["first"]) / 1000
    return {"received": stats["n"], "seconds": seconds, "alerts": stats["alerts"],
            "rate": (stats["n"] - 1) / seconds if seconds > 0 else 0.0}
