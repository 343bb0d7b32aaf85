"""Gateway routes mounted on the social API: status, unclaimed traffic, reload, commands."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.api import admin, commands, history, status

GATEWAY_ROUTERS: tuple[APIRouter, ...] = (
    status.router, admin.router, commands.router, history.router,
)
