"""What an installer watches while setting a building up: the configuration and the traffic.

``GET /api/admin/config``: the running configuration (directory, files, counts, when
it was loaded, its warnings) and the last reload refused for errors, each error as
``{file, line, column, field, message}`` so a page can point at the line.

``GET /api/admin/traffic``: messages per topic over the last minute, with who claims
each topic (:mod:`gateway.traffic`).

Both are for installers and admins, as ``POST /api/admin/reload`` is.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from gateway.api.access import Staff, require_installer
from gateway.config.errors import ConfigIssue
from gateway.runtime import ReloadResult, Runtime
from gateway.traffic import (
    BUCKET_SECONDS,
    WINDOW_SECONDS,
    Claim,
    TopicSnapshot,
    classify,
)
from social.api.deps import CurrentMember, SessionDep

router = APIRouter(tags=["gateway"])

TrafficOrder = Literal["recent", "rate", "topic"]


def installers_only(what: str) -> Callable[..., Staff]:
    """A dependency admitting installers and admins; it runs in FastAPI's thread pool and
    ends its transaction (on SQLite it holds the write lock) before the route runs."""

    def dependency(request: Request, member: CurrentMember, session: SessionDep) -> Staff:
        staff = require_installer(session, member, request.app.state.gateway.installation,
                                  what)
        session.rollback()
        return staff

    return dependency


ConfigReader = Annotated[Staff, Depends(installers_only("the configuration's state"))]
TrafficReader = Annotated[Staff, Depends(installers_only("live traffic"))]


# -- configuration ------------------------------------------------------------------


def _relative(path: str, root: Path) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return path


def issue_dict(issue: ConfigIssue, root: Path) -> dict[str, Any]:
    """One issue for a page: where (``file`` relative to the configuration directory) and
    what, plus ``text``, the line ``palier validate`` prints."""
    return {"file": _relative(issue.path, root), "line": issue.line, "column": issue.column,
            "field": issue.field, "message": issue.message, "severity": issue.severity,
            "text": str(issue)}


def _failure(result: ReloadResult, loaded_at: float, root: Path) -> dict[str, Any]:
    errors = [issue_dict(i, root) for i in result.issues]
    if not errors:  # refused for something other than a file (a partition that no longer fits)
        errors = [{"file": None, "line": None, "column": None, "field": None, "message": text,
                   "severity": "error", "text": text} for text in result.errors]
    return {"at": result.at, "trigger": result.trigger,
            # A good reload since: the errors were fixed (or the files put back).
            "stale": loaded_at > result.at,
            "errors": errors, "warnings": [issue_dict(i, root) for i in result.warnings]}


@router.get("/api/admin/config")
def config_state(request: Request, _staff: ConfigReader) -> dict[str, Any]:
    """The running configuration, and the last reload refused for errors."""
    runtime: Runtime = request.app.state.gateway
    installation = runtime.installation
    root = installation.root
    failure = runtime.last_failure
    return {
        "root": str(root),
        "files": list(installation.files),
        "counts": {
            "bridges": len(installation.bridges),
            "devices": sum(len(b.devices) for b in installation.bridges),
            "rules": len(installation.rules),
            "places": len(installation.places),
            "members": len(installation.members),
        },
        "loaded_at": runtime.loaded_at,
        "warnings": [issue_dict(w, root) for w in installation.warnings],
        "last_reload": runtime.last_reload.as_dict() if runtime.last_reload else None,
        "last_failure": (_failure(failure, runtime.loaded_at, root)
                         if failure is not None else None),
    }


# -- traffic ------------------------------------------------------------------------


def _claim_dict(claim: Claim) -> dict[str, Any]:
    return {"outcome": claim.outcome, "bridge": claim.bridge, "device": claim.device,
            "source": claim.source, "reason": claim.reason}


def _topics(runtime: Runtime, snapshots: Sequence[TopicSnapshot],
            foreign: frozenset[tuple[str, str]], staff: Staff) -> list[dict[str, Any]]:
    """The rows of the answer; decoding the last payloads runs in a worker thread.

    A topic whose last message is a device's of a building the caller does not install
    is left out: its claim (a refused value, say) would show that building's data.
    """
    pipeline = runtime.pipeline
    routes, registry = pipeline.routes, pipeline.registry
    rows = []
    for snap in snapshots:
        claim = classify(snap.topic, snap.payload, routes, registry)
        if claim.device is not None:
            device = registry.get(claim.device)
            if device is None or not staff.covers(runtime.installation, device.place_id):
                continue
        if claim.outcome == "unclaimed" and (claim.bridge, claim.source) in foreign:
            claim = Claim("foreign", bridge=claim.bridge, source=claim.source,
                          reason="a device of a building another gateway worker owns")
        rows.append({
            "topic": snap.topic, "last_minute": snap.last_minute, "total": snap.total,
            "last_size": snap.last_size, "first_seen": snap.first_seen,
            "last_seen": snap.last_seen, "claim": _claim_dict(claim),
        })
    return rows


@router.get("/api/admin/traffic")
async def live_traffic(
    request: Request,
    _staff: TrafficReader,
    order: Annotated[TrafficOrder, Query(
        description="recent: heard last first; rate: busiest first; topic: by name")] = "recent",
    contains: Annotated[str | None, Query(max_length=200,
                                          description="only topics containing this")] = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 500,
) -> dict[str, Any]:
    """Messages per topic in the last minute, and who claims each topic's last message."""
    runtime: Runtime = request.app.state.gateway
    traffic = runtime.pipeline.traffic
    now = time.time()
    # The counters change in this thread (the event loop's): copy them here, decode elsewhere.
    snapshots = traffic.snapshot(now)
    kept = len(snapshots)
    if contains:
        snapshots = [s for s in snapshots if contains in s.topic]
    if order == "rate":
        snapshots.sort(key=lambda s: (-s.last_minute, s.topic))
    elif order == "topic":
        snapshots.sort(key=lambda s: s.topic)
    matching = len(snapshots)
    foreign: frozenset[tuple[str, str]] = getattr(runtime, "foreign", frozenset())
    rows = await asyncio.to_thread(_topics, runtime, snapshots[:limit], foreign, _staff)
    return {
        "at": now,
        "window_seconds": WINDOW_SECONDS,
        "bucket_seconds": BUCKET_SECONDS,
        "capacity": traffic.capacity,
        "kept": kept,
        "matching": matching,
        "forgotten": traffic.forgotten,
        "messages": traffic.total,
        "topics": rows,
    }
