"""The table the suite prints (Markdown, so it pastes into ``docs/performance.md``).

Each row is one figure: median, min and max over the runs, the target from issue 8
where there is one, and whether the median meets it. Ratios are targets; absolute
rates are there to read them by.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Issue 8's targets, by ``section.figure``: (comparison, bound, how it reads).
TARGETS: dict[str, dict[str, Any]] = {
    "ingest.palier_over_paho": {"op": ">=", "bound": 1.5, "text": "≥ 1.5×"},
    "ingest.palier_over_nodered": {"op": ">=", "bound": 1.0, "text": "≥ 1.0×"},
    "live.latency_p99_ms": {"op": "<=", "bound": 50.0, "text": "≤ 50 ms"},
    "live.rss_after_ingest_mb": {"op": "<=", "bound": 250.0, "text": "≤ 250 MB"},
    "feed-sqlite.p99_ms": {"op": "<=", "bound": 30.0, "text": "≤ 30 ms"},
    "feed-postgres.p99_ms": {"op": "<=", "bound": 30.0, "text": "≤ 30 ms"},
}

#: (section, figure, label, format) in the order of the table.
ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("ingest", "palier_msgs_per_s", "Palier, full pipeline (msg/s)", "{:,.0f}"),
    ("ingest", "palier_readings_per_s", "Palier, point readings (readings/s)", "{:,.0f}"),
    ("ingest", "paho_msgs_per_s", "bare paho-mqtt counter (msg/s)", "{:,.0f}"),
    ("ingest", "gmqtt_msgs_per_s", "bare gmqtt counter (msg/s)", "{:,.0f}"),
    ("ingest", "nodered_msgs_per_s", "Node-RED parse-check-count (msg/s)", "{:,.0f}"),
    ("ingest", "palier_over_paho", "Palier / bare paho", "{:.2f}×"),
    ("ingest", "palier_over_nodered", "Palier / Node-RED", "{:.2f}×"),
    ("ingest", "publisher_msgs_per_s", "publisher, QoS 1 (msg/s)", "{:,.0f}"),
    ("live", "latency_p50_ms", "publish → resident sees the alert, p50 (ms)", "{:.1f}"),
    ("live", "latency_p99_ms", "publish → resident sees the alert, p99 (ms)", "{:.1f}"),
    ("live", "latency_max_ms", "publish → resident sees the alert, max (ms)", "{:.1f}"),
    ("live", "rss_idle_mb", "RSS of palier run, started, idle (MB)", "{:.0f}"),
    ("live", "rss_after_ingest_mb", "RSS of palier run, after the ingest (MB)", "{:.0f}"),
    ("live", "rss_peak_mb", "peak RSS of palier run (MB)", "{:.0f}"),
    ("live", "live_msgs_per_s", "palier run, live ingest (msg/s)", "{:,.0f}"),
    ("feed-sqlite", "p50_ms", "GET /api/feed, SQLite, p50 (ms)", "{:.1f}"),
    ("feed-sqlite", "p99_ms", "GET /api/feed, SQLite, p99 (ms)", "{:.1f}"),
    ("feed-sqlite", "requests_per_s", "GET /api/feed, SQLite (req/s)", "{:,.0f}"),
    ("feed-sqlite", "single_client_p50_ms", "one client alone, SQLite, p50 (ms)", "{:.1f}"),
    ("feed-postgres", "p50_ms", "GET /api/feed, PostgreSQL, p50 (ms)", "{:.1f}"),
    ("feed-postgres", "p99_ms", "GET /api/feed, PostgreSQL, p99 (ms)", "{:.1f}"),
    ("feed-postgres", "requests_per_s", "GET /api/feed, PostgreSQL (req/s)", "{:,.0f}"),
    ("feed-postgres", "single_client_p50_ms", "one client alone, PostgreSQL, p50 (ms)",
     "{:.1f}"),
)

_TITLES = {
    "ingest": "ingest",
    "live": "latency & memory",
    "feed-sqlite": "feed API",
    "feed-postgres": "feed API",
}


def verdict(key: str, value: float) -> str:
    target = TARGETS.get(key)
    if target is None:
        return ""
    bound = float(target["bound"])
    if target["op"] == ">=":
        return "met" if value >= bound else f"missed: {value / bound:.2f} of the target"
    return "met" if value <= bound else f"missed: {value / bound:.1f}× the bound"


def figure_rows(result: Mapping[str, Any]) -> list[list[str]]:
    """The table's body: one list of cells per figure, or per section that did not run."""
    sections: Mapping[str, Any] = result.get("sections", {})
    rows: list[list[str]] = []
    reported: set[str] = set()
    for section, figure, label, fmt in ROWS:
        data = sections.get(section)
        if data is None:
            continue
        if data.get("status") != "ok":
            if section not in reported:
                reported.add(section)
                rows.append([_TITLES[section], f"{section}: {data.get('status')}", "", "", "",
                             "", str(data.get("reason", ""))[:160]])
            continue
        value = data.get("figures", {}).get(figure)
        if figure == "nodered_msgs_per_s" and value is None:
            peer = data.get("figures", {}).get("nodered")
            if peer is not None and figure not in reported:
                reported.add(figure)
                rows.append([_TITLES[section], "Node-RED peer: skipped", "", "", "", "",
                             str(peer.get("reason", ""))[:160]])
            continue
        if not isinstance(value, Mapping):
            continue
        key = f"{section}.{figure}"
        target = TARGETS.get(key, {}).get("text", "")
        rows.append([_TITLES[section], label, fmt.format(value["median"]),
                     fmt.format(value["min"]), fmt.format(value["max"]), target,
                     verdict(key, value["median"])])
    return rows


def render_table(result: Mapping[str, Any]) -> str:
    header = ["benchmark", "figure", "median", "min", "max", "target", "verdict"]
    rows = figure_rows(result)
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) if rows else len(header[i])
              for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in rows]
    m = result.get("machine", {})
    notes = [f"{result.get('mode', '?')} mode, {result.get('runs', '?')} run(s); "
             f"{m.get('cores', '?')} cores, {m.get('cpu', '?')}, Python {m.get('python', '?')}, "
             f"load average {_load(m)}"]
    live = result.get("sections", {}).get("live", {})
    if live.get("status") == "ok":
        figures = live["figures"]
        notes.append(f"latency measured via {figures.get('latency_method', '?')}; "
                     f"alerts never seen: {figures.get('latency_missed', 0)}; "
                     f"API errors (HTTP 5xx) while palier run ingested: "
                     f"{figures.get('status_api_errors', 0)}")
    for name, label in (("feed-sqlite", "SQLite"), ("feed-postgres", "PostgreSQL")):
        feed = result.get("sections", {}).get(name, {})
        if feed.get("status") == "ok" and "requests" in feed.get("figures", {}):
            f = feed["figures"]
            notes.append(f"feed API on {label}: {f['errors']} answers other than 200 "
                         f"(for {f['requests']} answered with 200)")
    return "\n".join([*out, "", *notes])


def _load(m: Mapping[str, Any]) -> str:
    start = m.get("load_average_at_start") or [0.0]
    end = m.get("load_average_at_end") or [0.0]
    return f"{start[0]:.1f} at start, {end[0]:.1f} at end"
