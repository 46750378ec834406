"""`tambour serve` as an operator runs it: probes, metrics, logs, the OpenAPI document and its
documentation page served with its own assets (no CDN)."""

import os
import re
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alembic import command
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, insert

from tambour.services import workers
from tambour.store import schema
from tambour.store.engine import make_engine
from tambour.store.tables import JOB_STATES, OUTBOX_STATES, jobs, outbox
from tests.integration.api_server import ApiServer, assert_problem, new_key
from tests.integration.cli import Cli


def test_readyz_says_503_while_the_schema_is_behind(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    config = schema.alembic_config(engine)
    command.downgrade(config, "0010")
    try:
        with ApiServer(db_url, tmp_path) as server:
            assert server.get("/healthz").json() == {"status": "ok"}
            behind = assert_problem(server.get("/readyz"), 503, "schema_not_current")
            assert "tambour db upgrade" in behind["detail"]
            assert server.get("/readyz").headers["retry-after"] == "5"
            assert_problem(server.get("/api/v1/me"), 503, "schema_not_current")
            command.upgrade(config, "head")
            assert server.get("/readyz").json() == {"status": "ready"}
            assert_problem(server.get("/api/v1/me"), 401, "missing_api_key")
    finally:
        command.upgrade(config, "head")


def message(index: int, state: str, send_at: datetime, now: datetime) -> dict[str, object]:
    """An outbox row (no foreign keys: no campaign needed to count it)."""
    return {
        "advertiser_id": 1, "campaign_id": 1, "contact_id": index,
        "e164": f"+3361000000{index}", "sender": "MLUMIERE", "text": "Bonjour",
        "encoding": "GSM-7", "parts": 1, "send_at": send_at, "state": state,
        "attempts": 0, "created_at": now, "updated_at": now,
    }  # fmt: skip


def job(state: str, now: datetime) -> dict[str, object]:
    return {
        "kind": "campaign.plan", "state": state, "arguments": "{}", "done": 0, "attempts": 0,
        "max_attempts": 3, "due_at": now, "created_at": now, "created_by": "test",
        "updated_at": now,
    }  # fmt: skip


def test_metrics_count_messages_queue_and_workers(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    rows = [
        ("queued", now - timedelta(minutes=10)),  # due for 10 minutes: the oldest
        ("queued", now - timedelta(minutes=1)),
        ("queued", now + timedelta(hours=5)),  # held for its window: not due
        ("delivered", now - timedelta(hours=1)),
    ]
    with engine.begin() as conn:
        conn.execute(
            insert(outbox),
            [message(index, state, send_at, now) for index, (state, send_at) in enumerate(rows)],
        )
        conn.execute(insert(jobs), [job("queued", now), job("queued", now), job("failed", now)])
        workers.seen(conn, "worker-a", ["orange", "sfr"], now, now)
        workers.seen(conn, "worker-b", ["orange"], now, now)
        workers.seen(conn, "worker-gone", ["orange"], now - timedelta(hours=1), now)
    with ApiServer(db_url, tmp_path) as server:
        response = server.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = list(text_string_to_metric_families(response.text))
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in families
        for sample in family.samples
    }
    by_job_state = {
        labels[0][1]: value for (name, labels), value in samples.items() if name == "tambour_jobs"
    }
    assert by_job_state == dict.fromkeys(JOB_STATES, 0) | {"queued": 2, "failed": 1}
    by_state = {
        labels[0][1]: value
        for (name, labels), value in samples.items()
        if name == "tambour_messages"
    }
    assert set(by_state) == set(OUTBOX_STATES)
    assert by_state["queued"] == 3 and by_state["delivered"] == 1 and by_state["failed"] == 0
    assert samples[("tambour_queue_depth", ())] == 2
    assert 590 <= samples[("tambour_queue_oldest_age_seconds", ())] <= 700
    assert samples[("tambour_workers", ())] == 2
    assert samples[("tambour_carrier_workers", (("carrier", "orange"),))] == 2
    assert samples[("tambour_carrier_workers", (("carrier", "sfr"),))] == 1
    assert samples[("process_resident_memory_bytes", ())] > 10_000_000
    assert samples[("tambour_webhook_backlog", ())] == 0
    assert samples[("tambour_webhook_backlog_oldest_age_seconds", ())] == 0


def test_logs_are_json_and_name_routes_not_numbers(db_url: str, tmp_path: Path) -> None:
    Cli(db_url).advertiser()
    token = new_key(db_url, "--advertiser", "maison-lumiere", "--scopes", "read")
    with ApiServer(db_url, tmp_path) as server:
        server.get("/api/v1/advertisers/maison-lumiere", token=token)
        server.get("/api/v1/advertisers/0612345678?numero=0698765432", token=token)
        server.get("/api/v1/advertisers?cursor=06-11-22-33-44", token=token)
        server.get("/nowhere/0655443322")
        server.get("/api/v1/me")
    text = server.log_path.read_text()
    for number in ("0612345678", "0698765432", "06-11-22-33-44", "0655443322"):
        assert number not in text
    assert token not in text and token[len("tbr_live_") + 13 :] not in text  # nor its secret
    lines = server.log_lines()  # every line is one JSON object
    access = [
        line for line in lines if line["event"] == "http_request" and line["route"] != "/healthz"
    ]
    assert [(line["route"], line["status"]) for line in access] == [
        ("/api/v1/advertisers/{slug}", 200),
        ("/api/v1/advertisers/{slug}", 404),
        ("/api/v1/advertisers", 422),
        (None, 404),
        ("/api/v1/me", 401),
    ]
    key_id = token.split("_")[2]
    assert [line["key_id"] for line in access] == [key_id, key_id, key_id, None, None]
    assert all(line["method"] == "GET" and line["duration_ms"] >= 0 for line in access)
    assert all("color_message" not in line for line in lines)


def test_the_openapi_document_and_its_documentation_page(db_url: str, tmp_path: Path) -> None:
    with ApiServer(db_url, tmp_path) as server:
        document = server.get("/api/v1/openapi.json").json()
        page = server.get("/api/docs")
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        fetched = {asset: server.get(asset) for asset in assets}
    assert document["openapi"] == "3.1.0"
    assert {"/api/v1/me", "/api/v1/advertisers", "/api/v1/advertisers/{slug}"} <= set(
        document["paths"]
    )
    assert document["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status[0] in "45":
                    assert list(response["content"]) == ["application/problem+json"], (
                        path,
                        method,
                        status,
                    )
            headers = [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
            assert ("Idempotency-Key" in headers) == (method == "post"), (path, method)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/api/v1/openapi.json" in page.text
    assert "http://" not in page.text and "https://" not in page.text  # nothing from elsewhere
    assert sorted(assets) == [
        "/api/docs/assets/favicon-32x32.png",
        "/api/docs/assets/swagger-ui-bundle.js",
        "/api/docs/assets/swagger-ui.css",
    ]
    for asset, response in fetched.items():
        assert response.status_code == 200, asset
    assert len(fetched["/api/docs/assets/swagger-ui-bundle.js"].content) > 1_000_000
    assert fetched["/api/docs/assets/swagger-ui.css"].headers["content-type"].startswith("text/css")


def migrated_sqlite(tmp_path: Path) -> str:
    """A database of this test's own, for what does not depend on which (run once)."""
    url = f"sqlite:///{tmp_path / 'own.db'}"
    migrator = make_engine(url)
    try:
        schema.upgrade(migrator)
    finally:
        migrator.dispose()
    return url


def test_several_workers_serve_one_port_and_stop_together(tmp_path: Path) -> None:
    db_url = migrated_sqlite(tmp_path)
    Cli(db_url).advertiser()
    token = new_key(db_url, "--advertiser", "maison-lumiere", "--scopes", "read")
    with ApiServer(db_url, tmp_path, args=("--workers", "2")) as server:
        assert server.process is not None
        children = _children(server.process.pid)
        answers = {
            server.get("/api/v1/advertisers/maison-lumiere", token=token).status_code
            for _ in range(20)
        }
    assert answers == {200}
    assert server.process.returncode == 0
    assert len(children) >= 2  # the workers (and multiprocessing's resource tracker)
    deadline = time.monotonic() + 10  # the tracker leaves once its pipe closes
    while [pid for pid in children if _alive(pid)]:
        assert time.monotonic() < deadline, "a server process outlived the server"
        time.sleep(0.1)
    started = [line for line in server.log_lines() if line["message"].startswith("Started server")]
    assert len(started) == 2  # each worker logged, as JSON, through our configuration


def test_serve_refuses_what_it_cannot_run_with(tmp_path: Path) -> None:
    env = {**os.environ, "TAMBOUR_DATABASE_URL": migrated_sqlite(tmp_path)}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        cases = [
            (["--port", "70000"], {}, "--port: 70000 is not a number from 0 to 65,535"),
            (["--workers", "0"], {}, "--workers"),
            (["--port", port], {}, f"--host/--port: cannot listen on 127.0.0.1 port {port}"),
            ([], {"TAMBOUR_API_RATE": "beaucoup"}, "TAMBOUR_API_RATE: 'beaucoup' is not"),
            ([], {"TAMBOUR_DATABASE_URL": "nimporte://"}, "TAMBOUR_DATABASE_URL"),
            (["--log-level", "bavard"], {}, "--log-level"),
        ]
        for args, extra, said in cases:
            done = subprocess.run(
                [sys.executable, "-m", "tambour", "serve", *args],
                env={**env, **extra}, capture_output=True, text=True, timeout=60, check=False,
            )  # fmt: skip
            assert done.returncode == 2, (args, done.stderr)
            assert said in done.stderr and "Traceback" not in done.stderr, (args, done.stderr)
            assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended: its parent, init, collects it


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            if parent == pid:
                found.append(int(entry.name))
    return found
