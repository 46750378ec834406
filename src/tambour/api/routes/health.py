"""Probes and metrics, outside the versioned API and its document: `/healthz` (the process
answers), `/readyz` (the database is reachable, its schema current, its key ours: else 503),
`/metrics` (Prometheus text format)."""

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from tambour.api.auth import Shared
from tambour.api.metrics import exposition

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(shared: Shared) -> dict[str, str]:
    shared.check_now()
    return {"status": "ready"}


@router.get("/metrics")
def metrics(request: Request) -> Response:
    return Response(exposition(request.app.state.metrics), media_type=CONTENT_TYPE_LATEST)
