"""Liveness for load balancers and the installer: is the database answering?"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response, status
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from social.api.deps import DatabaseDep
from social.api.schemas import HealthPublic

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/healthz", responses={503: {"model": HealthPublic}})
def healthz(database: DatabaseDep, response: Response) -> HealthPublic:
    """``ok`` when a query goes through; 503 with the reason otherwise. No login needed."""
    try:
        with database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.warning("health check: database unreachable: %s", exc)
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        cause = getattr(exc, "orig", None) or exc
        return HealthPublic(status="error", database=f"unreachable ({type(cause).__name__})")
    return HealthPublic(status="ok", database="ok")
