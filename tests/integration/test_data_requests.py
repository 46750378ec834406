"""Issue 18 point 1, data requests, on SQLite and PostgreSQL, through the command line: the
register (deadlines, extension, refusal, reminders, advertisers kept apart), access (every kind
of data held, as JSON and a French document), erasure (no number or name left anywhere in the
database, the number still suppressed, `audit verify` still passing), objection and
rectification.

The data comes from test_export_proof's campaign: imported, planned, launched, a STOP reply,
then dispatched by a real worker to the local SMSC over TCP."""

import json
import stat
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, select

from tambour.services import consent_forms, form_submissions
from tambour.services.context import Context
from tambour.services.data_requests import one_month_after
from tambour.store.tables import (
    advertisers,
    data_requests,
    webhook_deliveries,
    webhook_events,
)
from tambour.store.tables import form_submissions as form_submissions_table
from tests.integration.cli import Cli
from tests.integration.test_contacts import write_csv
from tests.integration.test_export_proof import (
    CAVE,
    CONSENT,
    DELIVERED,
    LUMIERE,
    NO_BASIS,
    STOPPED,
    contacts_file,
    dispatch,
    launch,
    stop_reply,
)

__all__ = ["cli"]  # the fixture, from test_export_proof
from tests.integration.test_export_proof import cli


def add(cli: Cli, number: str, kind: str, *extra: str, slug: str = LUMIERE) -> int:
    done = cli(
        "requests", "add", number, "--advertiser", slug, "--kind", kind,
        "--requester", "la personne", "--means", "email", *extra, "--json",
    )  # fmt: skip
    return int(done.json()["id"])


def cave(cli: Cli) -> None:
    cli("advertiser", "create", CAVE, "--name", "Cave Dupont SARL", "--sender", "CDUPONT",
        "--stop-number", "36222", "--categories", "luminaires")  # fmt: skip


@pytest.fixture
def both(cli: Cli, engine: Engine, tmp_path: Path) -> Cli:
    """Maison Lumière and Cave Dupont, each with the same numbers and a launched campaign;
    a STOP from STOPPED to Maison Lumière; everything dispatched, Maison Lumière's webhook
    endpoint told of every event."""
    cave(cli)
    cli("webhook", "create", "--advertiser", LUMIERE, "--url", "https://crm.example.fr/hook")
    launch(cli, tmp_path)
    launch(cli, tmp_path, slug=CAVE, name="Vendanges")
    stop_reply(engine, STOPPED)
    dispatch(engine)
    return cli


# --- the register -----------------------------------------------------------------------------


def test_one_month_after_keeps_the_day_or_takes_the_months_last() -> None:
    assert one_month_after(date(2026, 12, 1)) == date(2027, 1, 1)
    assert one_month_after(date(2027, 1, 31)) == date(2027, 2, 28)
    assert one_month_after(date(2028, 1, 31)) == date(2028, 2, 29)
    assert one_month_after(date(2026, 11, 30), 3) == date(2027, 2, 28)


def test_the_register_keeps_deadlines_and_answers(cli: Cli, engine: Engine) -> None:
    first = add(cli, DELIVERED, "access", "--received", "2026-11-30")
    second = add(cli, "06 12 34 56 03", "objection")
    shown = cli("requests", "show", str(first), "--advertiser", LUMIERE, "--json").json()
    assert (shown["due_by"], shown["days_left"], shown["status"]) == ("2026-12-30", 29, "open")
    assert shown["received_on"] == "2026-11-30" and shown["requester"] == "la personne"
    # The number is not shown, only the start of its keyed hash; it is kept while open.
    assert DELIVERED not in json.dumps(shown) and len(shown["phone_ref"]) == 16
    listed = cli("requests", "list", "--advertiser", LUMIERE, "--json").json()
    assert [r["id"] for r in listed] == [first, second]  # open ones by deadline
    # Extended once, by two more months from receipt, with the reason told.
    extended = cli("requests", "extend", str(first), "--advertiser", LUMIERE, "--reason",
                   "demande complexe")  # fmt: skip
    assert "now due 2027-02-28" in extended.out
    again = cli("requests", "extend", str(first), "--advertiser", LUMIERE, "--reason", "x",
                ok=False)  # fmt: skip
    assert again.code == 2 and "was extended already (to 2027-02-28)" in again.err
    refused = cli("requests", "refuse", str(second), "--advertiser", LUMIERE, "--reason", "",
                  ok=False)  # fmt: skip
    assert refused.code == 2 and "--reason: give the reason" in refused.err
    cli("requests", "refuse", str(second), "--advertiser", LUMIERE, "--reason",
        "identité non vérifiée")  # fmt: skip
    twice = cli("requests", "answer", str(second), "--advertiser", LUMIERE, ok=False)
    assert twice.code == 2 and f"data request {second} is refused already" in twice.err
    with engine.connect() as conn:
        row = conn.execute(select(data_requests).where(data_requests.c.id == second)).one()
    assert row.e164 is None and row.answered_by == "test:alice"  # the number went once closed
    assert row.outcome == {"reason": "identité non vérifiée"}
    open_only = cli("requests", "list", "--advertiser", LUMIERE, "--status", "open").out
    assert f"{first:>5}  access" in open_only and "objection" not in open_only


def test_bad_input_is_refused_with_the_option_named(cli: Cli) -> None:
    cases = [
        (("--kind", "deletion"), "--kind: 'deletion' is not a kind of request"),
        (("--kind", "access", "--means", "pigeon"), "--means: 'pigeon' is not a means"),
        (("--kind", "access", "--received", "2026-12-02"), "--received: received on 2026-12-02"),
        (("--kind", "access", "--received", "hier"), "--received: 'hier' is not a date"),
    ]
    for extra, said in cases:
        done = cli("requests", "add", DELIVERED, "--advertiser", LUMIERE, "--requester", "x",
                   *extra, ok=False)  # fmt: skip
        assert done.code == 2 and said in done.err and "Traceback" not in done.err, done
    bad = cli("requests", "add", "12", "--advertiser", LUMIERE, "--kind", "access",
              "--requester", "x", ok=False)  # fmt: skip
    assert bad.code == 2 and "'12' is not a valid phone number" in bad.err
    nobody = cli("requests", "add", DELIVERED, "--advertiser", LUMIERE, "--kind", "access",
                 "--requester", "  ", ok=False)  # fmt: skip
    assert nobody.code == 2 and "--requester: say who asked" in nobody.err


def test_one_advertiser_never_sees_anothers_requests(cli: Cli) -> None:
    cave(cli)
    mine = add(cli, DELIVERED, "access")
    for args in (
        ("show", str(mine)),
        ("answer", str(mine), "--out", "."),
        ("refuse", str(mine), "--reason", "x"),
        ("extend", str(mine), "--reason", "x"),
    ):
        done = cli("requests", *args, "--advertiser", CAVE, ok=False)
        assert done.code == 2 and f"{CAVE} has no data request {mine}" in done.err, args
    assert cli("requests", "list", "--advertiser", CAVE, "--json").json() == []


def test_requests_due_soon_are_told_once_a_day(cli: Cli, engine: Engine) -> None:
    cli("webhook", "create", "--advertiser", LUMIERE, "--url", "https://crm.example.fr/hook",
        "--event", "data_request.due")  # fmt: skip
    # Today is 2026-12-01.
    soon = add(cli, DELIVERED, "erasure", "--received", "2026-11-05")  # due 12-05: in 4 days
    late = add(cli, STOPPED, "access", "--received", "2026-10-28")  # due 11-28: 3 days late
    add(cli, NO_BASIS, "access", "--received", "2026-11-25")  # due 12-25: not yet
    told = cli("requests", "remind", "--json").json()
    assert [r["id"] for r in told["due"]] == [late, soon] and told["told"] == 2
    assert [(r["overdue"], r["days_left"]) for r in told["due"]] == [(True, -3), (False, 4)]
    assert cli("requests", "remind", "--json").json()["told"] == 0  # once a day
    listed = cli("requests", "list", "--advertiser", LUMIERE).out
    assert f"{late:>5}  access        OVERDUE by 3 day(s)" in listed
    with engine.connect() as conn:
        events = [
            json.loads(body)["data"]
            for body in conn.execute(select(webhook_events.c.body)).scalars()
        ]
        deliveries = conn.execute(select(webhook_deliveries)).all()
    assert len(deliveries) == 2
    assert {(e["request"], e["days_left"], e["due_by"]) for e in events} == {
        (late, -3, "2026-11-28"), (soon, 4, "2026-12-05"),
    }  # fmt: skip
    assert not any(DELIVERED in json.dumps(e) or STOPPED in json.dumps(e) for e in events)


def test_the_job_runner_reminds_once_a_day_when_idle(cli: Cli, engine: Engine) -> None:
    """What workers run daily: `tambour jobs run` (a worker's child) tells the requests due
    soon when it has no job to do, once a day whatever the number of runners."""
    cli("webhook", "create", "--advertiser", LUMIERE, "--url", "https://crm.example.fr/hook",
        "--event", "data_request.due")  # fmt: skip
    late = add(cli, STOPPED, "access", "--received", "2026-10-28")
    for _ in range(2):
        cli("jobs", "run", "--until-idle")
    with engine.connect() as conn:
        told = [
            json.loads(body)["data"]
            for body in conn.execute(select(webhook_events.c.body)).scalars()
        ]
    assert [(e["request"], e["days_left"]) for e in told] == [(late, -3)]


# --- answers ------------------------------------------------------------------------------------


def test_access_gives_every_kind_of_data_held(both: Cli, tmp_path: Path) -> None:
    reports = tmp_path / "33700.csv"  # Zoé also reported the message to 33700
    reports.write_text(
        f"number,sender,reported_at,text\n{STOPPED},MLUMIERE,2026-12-01T11:00:00+01:00,"
        "Nos luminaires\n",
        encoding="utf-8",
    )
    both.env["TAMBOUR_NOW"] = "2026-12-01T12:00:00+01:00"
    both("complaints", "import", str(reports), "--advertiser", LUMIERE)
    request = add(both, STOPPED, "access")
    out = tmp_path / "out"
    out.mkdir()
    said = both("requests", "answer", str(request), "--advertiser", LUMIERE, "--out", str(out))
    assert f"request {request} answered" in said.out
    copy = json.loads((out / f"request-{request}.json").read_text(encoding="utf-8"))
    assert copy["number"] == STOPPED and copy["controller"]["slug"] == LUMIERE
    assert copy["contact"]["fields"]["first_name"] == "Zoé"
    assert {fact["kind"] for fact in copy["evidence"]} >= {"consent_given", "opt_out"}
    assert [d["campaign"] for d in copy["decisions"]] == ["Noël"]  # not Cave Dupont's
    [message] = copy["messages"]
    assert message["campaign"] == "Noël" and message["state"] == "cancelled"
    assert message["text"].startswith("Nos luminaires")
    assert [r["text"] for r in copy["replies"]] == ["Merci STOP"]
    assert copy["suppression"]["opted_out"] is True
    assert [r["kind"] for r in copy["data_requests"]] == ["access"]
    [report] = copy["complaints"]
    assert (report["sender"], report["excerpt"]) == ("MLUMIERE", "Nos luminaires")
    document = (out / f"request-{request}.html").read_text(encoding="utf-8")
    assert '<html lang="fr">' in document and "Vos données chez Maison Lumière SAS" in document
    assert "Zoé" in document and "Merci STOP" in document
    assert "Vos signalements au 33700" in document
    for written in out.iterdir():
        assert stat.S_IMODE(written.stat().st_mode) == 0o600, written
    closed = both("requests", "show", str(request), "--advertiser", LUMIERE, "--json").json()
    assert closed["status"] == "answered" and closed["outcome"]["replies"] == 1
    refused = both("requests", "answer", str(request), "--advertiser", LUMIERE, "--out",
                   str(out), ok=False)  # fmt: skip
    assert refused.code == 2 and "is answered already" in refused.err


def _everything(engine: Engine) -> list[tuple[str, str, str, Any]]:
    """Every value of every table and column, as text: (table, column, value, the row's
    advertiser id when its table has one)."""
    found: list[tuple[str, str, str, Any]] = []
    reflected = MetaData()
    reflected.reflect(engine)
    with engine.connect() as conn:
        for table in reflected.sorted_tables:
            for row in conn.execute(select(table)):
                values = row._mapping
                owner = values.get("advertiser_id")
                for column, value in values.items():
                    if value is None:
                        continue
                    if isinstance(value, bytes | memoryview):
                        text = bytes(value).decode("utf-8", "replace")
                    else:
                        text = value if isinstance(value, str) else json.dumps(value, default=str)
                    found.append((table.name, str(column), text, owner))
    return found


def _found(engine: Engine, number: str, name: str) -> list[tuple[str, str, str, Any]]:
    return [t for t in _everything(engine) if any(s in t[2] for s in _traces(number, name))]


def advertiser_id(engine: Engine, slug: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(select(advertisers.c.id).where(advertisers.c.slug == slug)).scalar_one()
        )


def _traces(number: str, name: str) -> list[str]:
    national = "0" + number[3:]
    spaced = " ".join(national[i : i + 2] for i in range(0, 10, 2))
    return [number, number[1:], national, spaced, name]


def test_erasure_leaves_no_trace_but_the_suppression(
    both: Cli, engine: Engine, tmp_path: Path
) -> None:
    cli = both
    request = add(cli, STOPPED, "erasure")
    before = _found(engine, STOPPED, "Zoé")
    assert {table for table, *_ in before} >= {
        "contacts", "outbox", "plan_rows", "replies", "data_requests", "webhook_events",
    }  # fmt: skip
    unconfirmed = cli("requests", "answer", str(request), "--advertiser", LUMIERE, ok=False)
    assert unconfirmed.code == 2 and "--confirm-erasure: confirm the erasure" in unconfirmed.err
    said = cli("requests", "answer", str(request), "--advertiser", LUMIERE, "--confirm-erasure",
               "--json").json()  # fmt: skip
    erased = said["erased"]
    assert erased["contact_id"] is not None and erased["replies"] == 1
    assert erased["messages"] == 1 and erased["plan_rows"] == 1 and erased["evidence"] >= 2
    lumiere = advertiser_id(engine, LUMIERE)
    left = _found(engine, STOPPED, "Zoé")
    # What is left is Cave Dupont's own data about the same person: not this erasure's.
    assert left and all(owner not in (None, lumiere) for *_, owner in left), left
    cave_only = add(cli, STOPPED, "erasure", slug=CAVE)
    cli("requests", "answer", str(cave_only), "--advertiser", CAVE, "--confirm-erasure")
    nothing = _found(engine, STOPPED, "Zoé")
    assert nothing == [], nothing
    # The proof still verifies; the number stays on the suppression list.
    assert "ledger intact: every row sealed" in cli("audit", "verify").out
    check = cli("optout", "check", STOPPED, "--advertiser", LUMIERE, "--json").json()
    assert check["opted_out"] is True
    # Imported again with its old consent, it is excluded from the next campaign.
    again = write_csv(tmp_path / "again.csv", [{"phone": STOPPED, **CONSENT}])
    cli("contacts", "import", str(again), "--advertiser", LUMIERE)
    cli("campaign", "create", "--advertiser", LUMIERE, "--name", "Janvier",
        "--nature=commercial", "--sender=MLUMIERE", "--text=Soldes d'hiver.",
        "--categories=luminaires", "--start=2026-12-02T10:00")  # fmt: skip
    plan = cli.blocked_or_not("campaign", "plan", "Janvier", "--advertiser", LUMIERE, "--json")
    rows = {row["phone"]: row for row in plan["rows"]}
    assert (rows[STOPPED]["decision"], rows[STOPPED]["reason"]) == ("exclude", "opted_out")


def test_erasure_of_a_number_never_messaged(cli: Cli, engine: Engine, tmp_path: Path) -> None:
    """A contact imported, never messaged, who also filled in a consent form (recorded with
    its network) and started another that asks for a code it never confirmed."""
    cli("contacts", "import", str(contacts_file(tmp_path, LUMIERE)), "--advertiser", LUMIERE)
    ctx = Context(
        engine=engine, actor="test:forms", clock=lambda: datetime(2026, 12, 1, 8, tzinfo=UTC)
    )
    consent_forms.create(ctx, slug=LUMIERE, form="newsletter")
    consent_forms.create(ctx, slug=LUMIERE, form="club", double_opt_in=True)
    for form in ("newsletter", "club"):
        form_submissions.submit(
            ctx, slug=LUMIERE, form=form, number=NO_BASIS, ticked=["sms"],
            ip="203.0.113.7", user_agent="Mozilla/5.0 (Marie)",
        )  # fmt: skip
    request = add(cli, NO_BASIS, "erasure")
    cli("requests", "answer", str(request), "--advertiser", LUMIERE, "--confirm-erasure")
    assert _found(engine, NO_BASIS, "Marie") == []
    with engine.connect() as conn:
        kept = conn.execute(select(form_submissions_table)).all()
    # The confirmed submission stays as proof of what was filled in, without number nor network.
    assert [(r.e164, r.ip_prefix, r.user_agent) for r in kept] == [("", None, None)]
    assert kept[0].confirmed_at is not None
    assert "ledger intact: every row sealed" in cli("audit", "verify").out
    unknown = add(cli, "+33612349999", "erasure")  # not a contact: suppressed all the same
    done = cli("requests", "answer", str(unknown), "--advertiser", LUMIERE, "--confirm-erasure",
               "--json").json()  # fmt: skip
    assert done["erased"]["contact_id"] is None and done["erased"]["suppressed"] is True


def test_audit_verify_still_catches_an_edit_after_an_erasure(both: Cli, engine: Engine) -> None:
    request = add(both, DELIVERED, "erasure")
    both("requests", "answer", str(request), "--advertiser", LUMIERE, "--confirm-erasure")
    assert "ledger intact: every row sealed" in both("audit", "verify").out
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE plan_rows SET text = 'changé' WHERE e164 = ''")
    broken = both("audit", "verify", ok=False)
    assert broken.code != 0 and "plan_rows" in broken.out + broken.err


def test_objection_opts_out_and_rectification_corrects(both: Cli, engine: Engine) -> None:
    objection = add(both, DELIVERED, "objection")
    both("requests", "answer", str(objection), "--advertiser", LUMIERE)
    check = both("optout", "check", DELIVERED, "--advertiser", LUMIERE, "--json").json()
    assert check["opted_out"] is True and check["source"] == "data_request"
    other = both("optout", "check", DELIVERED, "--advertiser", CAVE, "--json").json()
    assert other["opted_out"] is False  # the objection was to Maison Lumière
    fix = add(both, DELIVERED, "rectification")
    wrong = both("requests", "answer", str(fix), "--advertiser", LUMIERE, "--set", "consent=non",
                 ok=False)  # fmt: skip
    assert wrong.code == 2 and "'consent' cannot be rectified here" in wrong.err
    both("requests", "answer", str(fix), "--advertiser", LUMIERE, "--set", "first_name=Léna",
         "--set", "postal_code=")  # fmt: skip
    shown: Any = both("contacts", "show", DELIVERED, "--advertiser", LUMIERE, "--json").json()
    contact = shown["contact"]
    assert contact["first_name"] == "Léna" and contact.get("postal_code") is None
    shown = both("requests", "show", str(fix), "--advertiser", LUMIERE, "--json").json()
    assert shown["outcome"] == {"fields": ["first_name", "postal_code"]}
    assert "ledger intact: every row sealed" in both("audit", "verify").out


def test_the_document_is_french_first(both: Cli, tmp_path: Path) -> None:
    request = add(both, NO_BASIS, "portability")
    both("requests", "answer", str(request), "--advertiser", LUMIERE, "--out", str(tmp_path))
    document = (tmp_path / f"request-{request}.html").read_text(encoding="utf-8")
    for french in ("Coordonnées", "Aucune base légale", "exclu"):
        assert french in document, french
