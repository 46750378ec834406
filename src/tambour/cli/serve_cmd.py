"""`tambour serve`: the HTTP API (FastAPI on uvicorn), configured by the environment like every
command (TAMBOUR_DATABASE_URL, the secret key, TAMBOUR_API_RATE...).

The socket is bound here, before uvicorn starts: `--port 0` takes a free port, and the address
actually listened on is printed on stdout (one line) once bound. With `--workers N`, uvicorn
runs N processes sharing that socket, each building its own app; nothing else forks.
Logs go to stderr, one JSON object a line by default.
"""

import logging
import socket
from typing import Annotated, Any

import typer

from tambour import logs
from tambour.api.settings import ApiSettings, ApiSettingsError
from tambour.cli.context import open_context, refusals
from tambour.cli.log_options import LogFormat, LogLevel, configure_logs
from tambour.cli.output import fail, parse_instant, within
from tambour.store.schema import SchemaMismatchError, ensure_current

MAX_WORKERS = 64


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(
            "--port", help="Port (0: any free one, printed).", callback=within("--port", 0, 65535)
        ),
    ] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            "--workers", help="Server processes.", callback=within("--workers", 1, MAX_WORKERS)
        ),
    ] = 1,
    log_level: LogLevel = "info",
    log_format: LogFormat = "json",
) -> None:
    """Run the HTTP API: /api/v1 (documented at /api/docs), /healthz, /readyz, /metrics; the
    web app; the public consent forms at /f/ADVERTISER/FORM."""
    level = configure_logs(log_level, log_format)
    try:
        settings = ApiSettings.from_env()
    except ApiSettingsError as error:
        fail(str(error))
    if settings.base.now is not None:
        parse_instant(settings.base.now, "TAMBOUR_NOW")
    _check_database()
    listener = _bind(host, port)
    bound = listener.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"Tambour API listening on http://{shown}:{bound} (documentation: /api/docs)")
    _run(listener, host, bound, workers, level, log_format == "json")


def _check_database() -> None:
    """Refuse what no request could work with (a bad URL, another installation's key); a
    schema behind is only said: the server runs, /readyz answers 503 until it is current."""
    ctx = open_context(check_schema=False)
    with refusals():
        try:
            ensure_current(ctx.engine)
        except SchemaMismatchError as error:
            typer.echo(f"warning: {error}; /readyz answers 503 until then", err=True)
    ctx.engine.dispose()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except (OSError, OverflowError) as error:
        listener.close()
        fail(f"--host/--port: cannot listen on {host} port {port}: {_reason(error)}")
    listener.set_inheritable(True)
    return listener


def _reason(error: Exception) -> str:
    return getattr(error, "strerror", None) or str(error)


def _run(
    listener: socket.socket, host: str, port: int, workers: int, level: str, structured: bool
) -> None:
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
        "tambour.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=_log_config(level, structured),
        log_level=level,
        access_log=False,  # ours names the route, never the path nor its query (a number)
        server_header=False,
        proxy_headers=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
        # A worker that has not answered its supervisor by then is killed and started again:
        # importing the app takes seconds on a busy machine (uvicorn's 5 s killed some).
        timeout_worker_healthcheck=60,
    )
    if workers > 1:
        Multiprocess(config, sockets=[listener]).run()
    else:
        uvicorn.Server(config).run(sockets=[listener])


class Uncoloured(logging.Filter):
    """uvicorn gives its records a `color_message` with terminal escapes: not for a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.__dict__.pop("color_message", None)
        return True


def _log_config(level: str, structured: bool) -> dict[str, Any]:
    """Logging for uvicorn to set up in each of its processes: ours (tambour/logs.py)."""
    formatter: dict[str, Any] = (
        {"()": logs.JsonLines} if structured else {"format": "%(levelname)s %(name)s: %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": formatter},
        "filters": {"uncoloured": {"()": Uncoloured}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "main",
                "filters": ["uncoloured"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {"uvicorn.access": {"handlers": [], "propagate": False}},
    }
