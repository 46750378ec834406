"""`/api/v1/contacts` over real HTTP against `tambour serve`: a contact created with its facts
(the import's path: evidence from source `api`, the audit entry of its rows), updated, replayed
by its Idempotency-Key, shown with its standing and timeline, listed by pages and filters;
refusals as problems naming the field; a contacts file uploaded, imported by a job runner and
its contacts listed; an export job's file downloaded and its rows read; another advertiser's
contacts 404 on every route; no number in the server's log."""

import csv
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from tambour.store.tables import audit_log, evidence
from tests.integration.api_server import ApiServer, assert_problem, new_key
from tests.integration.api_tenants import two_advertisers
from tests.integration.cli import Cli

CONTACTS = "/api/v1/contacts"
NOW = "2027-03-23T10:00:00+01:00"  # a Tuesday morning in Paris
PERSON = "+33612345678"
CONSENT = {
    "given": True,
    "at": "2027-01-10T14:05:00+01:00",
    "method": "web_form",
    "wording": "J'accepte de recevoir les offres de Maison Lumière par SMS",
}


def serve(db_url: str, tmp_path: Path, **env: str) -> ApiServer:
    files = tmp_path / "files"
    return ApiServer(
        db_url, tmp_path, env={"TAMBOUR_NOW": NOW, "TAMBOUR_FILES_DIR": str(files), **env}
    )


def counted(engine: Engine, table: Any, *where: Any) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def run_jobs(env: dict[str, str]) -> None:
    """`tambour jobs run --until-idle`, as a worker machine runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "tambour", "jobs", "run", "--until-idle"],
        env={**os.environ, **env},
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def fields_of(body: dict[str, Any]) -> set[str]:
    return {error["field"] for error in body["errors"]}


def test_a_contact_is_created_updated_shown_and_listed(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    key = two_advertisers(Cli(db_url))
    reader = new_key(db_url, "--advertiser", "maison-lumiere", "--scopes", "read")
    with serve(db_url, tmp_path) as server:
        once = {"Idempotency-Key": "contact-1"}
        body = {
            "number": "06 12 34 56 78",
            "first_name": "Léa",
            "tags": ["vip", "lyon"],
            "fields": {"ville": "Lyon"},
            "consent": CONSENT,
        }
        made = server.post(CONTACTS, token=key, headers=once, json=body)
        assert made.status_code == 201, made.text
        contact = made.json()
        assert contact["number"] == PERSON and contact["kind"] == "person"
        assert contact["first_name"] == "Léa" and contact["tags"] == ["vip", "lyon"]
        assert contact["fields"] == {"ville": "Lyon"} and contact["suppressed"] is None
        commercial = contact["standing"]["commercial"]
        assert commercial["decision"] == "send" and commercial["basis"] == "consent", commercial
        assert commercial["bases"]["consent"] == "holds"
        [fact] = contact["timeline"]
        assert fact["kind"] == "consent_given" and fact["source"] == "api"
        assert fact["at"] == "2027-01-10T13:05:00+00:00"
        assert fact["data"]["method"] == "web_form" and fact["recorded_by"].startswith("api:")
        again = server.post(CONTACTS, token=key, headers=once, json=body)
        assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
        assert again.json() == contact
        assert counted(engine, evidence) == 1
        assert counted(engine, audit_log, audit_log.c.action == "contacts.import.rows") == 1

        # The same facts again: nothing new; a purchase: one fact more, the profile kept.
        same = server.post(CONTACTS, token=key, json=body)
        assert same.status_code == 200, same.text
        assert len(same.json()["timeline"]) == 1 and counted(engine, evidence) == 1
        bought = {"number": PERSON, "purchase": {"at": "2027-02-01", "categories": ["luminaires"]}}
        updated = server.post(CONTACTS, token=key, json=bought)
        assert updated.status_code == 200, updated.text
        assert [f["kind"] for f in updated.json()["timeline"]] == ["consent_given", "purchase"]
        assert updated.json()["first_name"] == "Léa" and updated.json()["id"] == contact["id"]

        opposed = server.post(
            CONTACTS,
            token=key,
            json={"number": "+33612345679", "opt_out": {"source": "sms_stop"}, "kind": "person"},
        )
        assert opposed.status_code == 201, opposed.text
        assert opposed.json()["suppressed"]["source"] == "sms_stop"
        assert opposed.json()["standing"]["commercial"]["reason"] == "opted_out"

        shown = server.get(f"{CONTACTS}/{contact['id']}", token=reader)
        assert shown.status_code == 200, shown.text
        assert shown.json()["timeline"] == updated.json()["timeline"]

        first = server.get(CONTACTS, token=reader, params={"limit": 1})
        assert first.status_code == 200, first.text
        assert [c["number"] for c in first.json()["items"]] == [PERSON]
        assert first.json()["items"][0]["opted_out"] is False
        assert first.headers["link"].startswith("<http")
        rest = server.get(first.json()["next"], token=reader).json()
        assert [c["number"] for c in rest["items"]] == ["+33612345679"] and rest["next"] is None
        only = server.get(CONTACTS, token=reader, params={"number": "0612345679"}).json()
        assert [c["opted_out"] for c in only["items"]] == [True]
        out = server.get(CONTACTS, token=reader, params={"opted_out": "true"}).json()
        assert [c["number"] for c in out["items"]] == ["+33612345679"]
        kept = server.get(CONTACTS, token=reader, params={"opted_out": "false"}).json()
        assert [c["number"] for c in kept["items"]] == [PERSON]
        later = server.get(
            CONTACTS, token=reader, params={"updated_since": "2099-01-01T00:00:00+00:00"}
        )
        assert later.json() == {"items": [], "next": None}
        assert_problem(
            server.get(CONTACTS, token=reader, params={"cursor": "bm9wZQ"}), 422, "invalid_cursor"
        )
        assert_problem(server.post(CONTACTS, token=reader, json=body), 403, "missing_scope")
        logged = server.log_path.read_text()
    assert "612345678" not in logged and "12 34 56 78" not in logged and "Léa" not in logged


def test_bad_contacts_are_refused_naming_the_field(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    key = two_advertisers(Cli(db_url))
    with serve(db_url, tmp_path) as server:
        number = assert_problem(server.post(CONTACTS, token=key, json={"number": "123"}), 422,
                                "invalid_phone")  # fmt: skip
        assert fields_of(number) == {"/number"}
        unknown = server.post(CONTACTS, token=key, json={"number": PERSON, "nickname": "Lé"})
        assert fields_of(assert_problem(unknown, 422, "validation_failed")) == {"/nickname"}
        bare = server.post(CONTACTS, token=key, json={"number": PERSON, "consent": {"given": True}})
        body = assert_problem(bare, 422, "invalid_input")
        assert {(e["field"], e["code"]) for e in body["errors"]} == {
            ("/consent/at", "consent_not_dated"),
            ("/consent/method", "consent_unproven"),
        }
        french = server.post(
            CONTACTS,
            token=key,
            json={"number": PERSON, "consent": {**CONSENT, "method": None, "wording": None}},
        )
        assert "texte que la personne a accepté" in french.json()["errors"][0]["detail"]
        future = server.post(
            CONTACTS, token=key, json={"number": PERSON, "purchase": {"at": "2031-01-01"}}
        )
        assert fields_of(assert_problem(future, 422, "invalid_value")) == {"/purchase/at"}
        postal = server.post(CONTACTS, token=key, json={"number": PERSON, "postal_code": "75O01"})
        postal_body = assert_problem(postal, 422, "invalid_value")
        assert fields_of(postal_body) == {"/postal_code"}
        listed = server.post(CONTACTS, token=key, json={"number": PERSON, "tags": ["a;b"]})
        assert fields_of(assert_problem(listed, 422, "list_separator")) == {"/tags/0"}
        reserved = server.post(
            CONTACTS, token=key, json={"number": PERSON, "fields": {"Consent": "yes"}}
        )
        assert fields_of(assert_problem(reserved, 422, "reserved_field")) == {"/fields/Consent"}
        channel = server.post(
            CONTACTS, token=key, json={"number": PERSON, "consent": {**CONSENT, "channels": ["tv"]}}
        )
        assert_problem(channel, 422, "validation_failed")
        assert_problem(
            server.get(CONTACTS, token=key, params={"number": "12"}), 422, "invalid_phone"
        )
    assert counted(engine, evidence) == 0


def test_another_advertisers_contacts_are_404_on_every_route(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    mine = two_advertisers(Cli(db_url))
    operator = new_key(db_url, "--operator")
    with serve(db_url, tmp_path) as server:
        theirs = server.post(
            CONTACTS, token=operator, params={"advertiser": "copie"}, json={"number": PERSON}
        )
        assert theirs.status_code == 201, theirs.text
        their_id = theirs.json()["id"]
        export = server.post(f"{CONTACTS}/exports", token=operator, params={"advertiser": "copie"})
        assert export.status_code == 202, export.text
        assert_problem(server.get(f"{CONTACTS}/{their_id}", token=mine), 404, "contact_not_found")
        assert_problem(
            server.get(f"{CONTACTS}/{their_id + 1000}", token=mine), 404, "contact_not_found"
        )
        assert server.get(CONTACTS, token=mine).json() == {"items": [], "next": None}
        copie = {"advertiser": "copie"}
        for response in (
            server.get(CONTACTS, token=mine, params=copie),
            server.get(f"{CONTACTS}/{their_id}", token=mine, params=copie),
            server.post(CONTACTS, token=mine, params=copie, json={"number": PERSON}),
            server.post(f"{CONTACTS}/exports", token=mine, params=copie),
            server.post(
                f"{CONTACTS}/imports",
                token=mine,
                params=copie,
                content=b"phone\n0612345678\n",
                headers={"Content-Type": "text/csv"},
            ),
        ):
            assert_problem(response, 404, "advertiser_not_found")
        job = export.json()["id"]
        assert_problem(server.get(f"/api/v1/jobs/{job}/file", token=mine), 404, "job_not_found")
        mine_now = server.post(CONTACTS, token=mine, json={"number": PERSON})
        assert mine_now.status_code == 201 and mine_now.json()["id"] != their_id


def test_a_file_is_uploaded_imported_and_exported(db_url: str, tmp_path: Path) -> None:
    cli = Cli(db_url)
    key = two_advertisers(cli)
    files = tmp_path / "files"
    # The runner's clock an hour after the server's: the jobs the server queued are due.
    cli.env |= {"TAMBOUR_FILES_DIR": str(files), "TAMBOUR_NOW": "2027-03-23T11:00:00+01:00"}
    upload = (
        "Numéro de mobile;Prénom;Opt-in SMS;Date opt-in;consent_method;Ville\n"
        "06 12 34 56 01;Anne;oui;10/01/2027;web_form;Lyon\n"
        "06 12 34 56 02;Paul;oui;11/01/2027;web_form;Paris\n"
        "12;Bad;oui;11/01/2027;web_form;Nulle part\n"
    ).encode()
    with serve(db_url, tmp_path, TAMBOUR_API_MAX_UPLOAD="4096") as server:
        sent = server.post(
            f"{CONTACTS}/imports",
            token=key,
            content=upload,
            headers={"Content-Type": "text/csv; charset=utf-8", "Idempotency-Key": "file-1"},
        )
        assert sent.status_code == 202, sent.text
        job = sent.json()
        assert job["kind"] == "contacts.import" and job["state"] == "queued"
        assert "path" not in job["arguments"]  # the server's folders are not an API's business
        (stored,) = (files / "uploads").glob("*/*")
        assert stored.read_bytes() == upload
        assert stored.stat().st_mode & 0o777 == 0o600
        assert stored.parent.stat().st_mode & 0o777 == 0o700
        replay = server.post(
            f"{CONTACTS}/imports",
            token=key,
            content=upload,
            headers={"Content-Type": "text/csv", "Idempotency-Key": "file-1"},
        )
        assert replay.json()["id"] == job["id"] and replay.headers["idempotent-replayed"] == "true"

        run_jobs(cli.env)
        done = server.get(f"/api/v1/jobs/{job['id']}", token=key).json()
        assert done["state"] == "succeeded", done
        assert done["result"]["created"] == 2 and done["result"]["rejected"] == 1
        listed = server.get(CONTACTS, token=key).json()["items"]
        assert [(c["number"], c["first_name"], c["fields"]) for c in listed] == [
            ("+33612345601", "Anne", {"Ville": "Lyon"}),
            ("+33612345602", "Paul", {"Ville": "Paris"}),
        ]

        big = server.post(
            f"{CONTACTS}/imports",
            token=key,
            content=b"phone\n" + b"0612345678\n" * 500,
            headers={"Content-Type": "text/csv"},
        )
        assert_problem(big, 413, "upload_too_large")

        def chunks() -> Any:  # no Content-Length: refused as it streams past the limit
            yield b"phone\n"
            for _ in range(50):
                yield b"0612345678\n" * 10

        streamed = server.post(
            f"{CONTACTS}/imports", token=key, content=chunks(), headers={"Content-Type": "text/csv"}
        )
        assert_problem(streamed, 413, "upload_too_large")
        empty = server.post(
            f"{CONTACTS}/imports", token=key, content=b"", headers={"Content-Type": "text/csv"}
        )
        assert_problem(empty, 422, "empty_upload")
        form = server.post(
            f"{CONTACTS}/imports", token=key, files={"file": ("c.csv", upload, "text/csv")}
        )
        assert_problem(form, 415, "unsupported_upload")
        assert "rejects_file" not in done["result"]
        kept = sorted(path.name for path in stored.parent.iterdir())
        assert len(kept) == 2 and stored.name in kept  # the upload and its rejects: nothing
        assert any(name.endswith(".rejects.csv") for name in kept)  # of the refused uploads

        asked = server.post(f"{CONTACTS}/exports", token=key, json={"form": "excel"})
        assert asked.status_code == 202, asked.text
        export = asked.json()
        assert export["kind"] == "contacts.export"
        early = server.get(f"/api/v1/jobs/{export['id']}/file", token=key)
        assert_problem(early, 404, "job_file_not_found")
        run_jobs(cli.env)
        finished = server.get(f"/api/v1/jobs/{export['id']}", token=key).json()
        assert finished["state"] == "succeeded" and finished["result"]["rows"] == 2, finished
        assert finished["result"]["file"].startswith("exports/")
        got = server.get(f"/api/v1/jobs/{export['id']}/file", token=key)
        assert got.status_code == 200, got.text
        assert got.headers["content-type"].startswith("text/csv")
        assert "attachment" in got.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(got.content.decode("utf-8-sig")), delimiter=";"))
        assert [(r["phone"], r["first_name"], r["consent"]) for r in rows] == [
            ("+33612345601", "Anne", "yes"),
            ("+33612345602", "Paul", "yes"),
        ]
        written = files / finished["result"]["file"]
        assert written.stat().st_mode & 0o777 == 0o600
        import_file = server.get(f"/api/v1/jobs/{job['id']}/file", token=key)
        assert_problem(import_file, 404, "job_file_not_found")
        logged = server.log_path.read_text()
    assert "612345601" not in logged and "Anne" not in logged
