"""Issue 13 point 4, the proof handed over, on SQLite and PostgreSQL, through the command line:
`campaign export` (every recipient's frozen plan row with its message's outcome, as CSV, the
Excel form or JSON lines) and `proof` (one recipient's evidence, decision, dispatch trail,
suppression entry, replies and audit entries, for a data-protection officer).

A campaign is planned and launched with the real commands, then dispatched by a worker in this
process to the local SMSC over real TCP (receipts come back at once; one number is refused by
the carrier for good); a STOP reply is recorded as the inbound worker records it."""

import asyncio
import csv
import io
import json
import stat
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from tambour.dispatch.transports.smpp import SmppTransport
from tambour.dispatch.worker import Worker, WorkerSettings
from tambour.rules.replies import classify_reply
from tambour.services.replies import record_replies
from tambour.store.tables import outbox, outbox_parts
from tambour.traffic import Reply
from tests.integration.cli import Cli
from tests.integration.smpp_peers import running_smsc, session_settings
from tests.integration.test_contacts import write_csv

PARIS = ZoneInfo("Europe/Paris")
PLANNED = "2026-12-01T09:00:00+01:00"  # a Tuesday; the campaign starts at 10:00 Paris time
START = datetime(2026, 12, 1, 10, 0, tzinfo=PARIS)
LUMIERE, CAVE = "maison-lumiere", "cave-dupont"
TEXT = "Nos luminaires de Noël sont arrivés."
SENT = TEXT + " STOP au 36111"  # the mention a commercial text gets
DELIVERED = "+33612345601"
REFUSED = "+33612345602"  # the carrier refuses it for good (ESME_RINVDSTADR)
NO_BASIS = "+33612345603"  # no consent, no purchase: nothing allows a message
MARTINIQUE = "+596696123404"  # 05:00 there at the start: held until 08:00 local time
OPTED_OUT = "+33612345605"  # consented, then opted out
STOPPED = "+33612345606"  # replies STOP after the launch, before its message leaves
CONSENT = {
    "consent": "oui", "consent_at": "2026-10-01", "consent_method": "web_form",
    "consent_source": "https://exemple.fr/inscription", "postal_code": "75011",
}  # fmt: skip


def contacts_file(tmp_path: Path, slug: str) -> Path:
    rows = [
        {"phone": DELIVERED, "first_name": "Léa", **CONSENT},
        {"phone": REFUSED, "first_name": "Jean", **CONSENT},
        {"phone": NO_BASIS, "first_name": "Marie", "postal_code": "75011"},
        {"phone": "0696 12 34 04", "first_name": "Hélène", **CONSENT, "postal_code": "97200"},
        {"phone": OPTED_OUT, **CONSENT, "opted_out": "oui", "opted_out_at": "2026-11-02",
         "opt_out_source": "link"},
        {"phone": STOPPED, "first_name": "Zoé", **CONSENT},
    ]  # fmt: skip
    return write_csv(tmp_path / f"{slug}.csv", rows)


def launch(cli: Cli, tmp_path: Path, slug: str = LUMIERE, name: str = "Noël") -> None:
    cli("contacts", "import", str(contacts_file(tmp_path, slug)), "--advertiser", slug)
    cli("campaign", "create", "--advertiser", slug, "--name", name, "--nature=commercial",
        f"--sender={'MLUMIERE' if slug == LUMIERE else 'CDUPONT'}", f"--text={TEXT}",
        "--categories=luminaires", "--start=2026-12-01T10:00")  # fmt: skip
    cli("campaign", "plan", name, "--advertiser", slug)
    cli("campaign", "launch", name, "--advertiser", slug)


class Clock:
    """From `start`, running at real speed."""

    def __init__(self, start: datetime) -> None:
        self.start, self.origin = start, time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.origin)


def dispatch(engine: Engine) -> None:
    """A worker sends what is due at 10:00 to the local SMSC, which delivers every part but
    REFUSED's (refused for good), and returns once the receipts are in."""
    clock = Clock(START)

    async def scenario() -> None:
        async with running_smsc() as smsc:
            smsc.clock = clock
            smsc.refuse(REFUSED, 0x0B)  # ESME_RINVDSTADR
            worker = Worker(
                engine,
                lambda inbound: SmppTransport(session_settings(smsc.port), inbound),
                settings=WorkerSettings(receipt_wait=10.0, lease=timedelta(seconds=10)),
                clock=clock,
            )
            await worker.run(until_idle=True)

    asyncio.run(asyncio.wait_for(scenario(), 90))


def stop_reply(engine: Engine, number: str, short_number: str = "36111") -> None:
    """A STOP from `number`, recorded as the inbound worker records it, at 09:30."""
    at = datetime(2026, 12, 1, 9, 30, tzinfo=PARIS)
    reply = Reply(number, number, short_number, "Merci STOP", classify_reply("Merci STOP"))
    with engine.begin() as conn:
        record_replies(conn, [reply], now=at, actor="worker:test")


@pytest.fixture
def cli(db_url: str) -> Cli:
    runner = Cli(db_url)
    runner.env["TAMBOUR_NOW"] = PLANNED
    runner.advertiser(LUMIERE)
    return runner


@pytest.fixture
def dispatched(cli: Cli, engine: Engine, tmp_path: Path) -> Cli:
    """Maison Lumière's campaign `Noël`, launched, a STOP from STOPPED, then dispatched."""
    launch(cli, tmp_path)
    stop_reply(engine, STOPPED)
    dispatch(engine)
    return cli


def messages(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return {row.e164: row for row in conn.execute(select(outbox))}


def carrier_ids(engine: Engine, outbox_id: int) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(outbox_parts.c.carrier_key)
                .where(outbox_parts.c.outbox_id == outbox_id)
                .order_by(outbox_parts.c.part)
            ).scalars()
        )


def json_lines(cli: Cli, *args: str) -> dict[str, dict[str, Any]]:
    done = cli("campaign", "export", *args, "--json")
    rows = [json.loads(line) for line in done.out.splitlines()]
    return {row["phone"]: row for row in rows}


def local(instant: datetime | None, zone: str = "Europe/Paris") -> str | None:
    return None if instant is None else instant.astimezone(ZoneInfo(zone)).isoformat()


# --- campaign export --------------------------------------------------------------------------


def test_export_is_refused_before_launch(cli: Cli, tmp_path: Path) -> None:
    cli("contacts", "import", str(contacts_file(tmp_path, LUMIERE)), "--advertiser", LUMIERE)
    cli("campaign", "create", "--advertiser", LUMIERE, "--name", "Noël", "--nature=commercial",
        "--sender=MLUMIERE", f"--text={TEXT}", "--start=2026-12-01T10:00")  # fmt: skip
    target = tmp_path / "proof.csv"
    for step in ("draft", "planned"):
        for args in ((), ("--json",), ("--csv", str(target)), ("--csv", str(target), "--excel")):
            refused = cli("campaign", "export", "Noël", *args, ok=False)
            assert refused.code == 2, (step, args, refused)
            assert refused.err.count("\n") == 1 and "Traceback" not in refused.err
            assert "'Noël' is not launched yet: there is no frozen plan to export" in refused.err
            assert refused.out == "" and not target.exists()
        cli("campaign", "plan", "Noël")
    cli("campaign", "cancel", "Noël")
    cancelled = cli("campaign", "export", "Noël", ok=False)
    assert cancelled.code == 2 and "'Noël' is cancelled and was never launched" in cancelled.err
    missing = cli("campaign", "export", "Hiver", ok=False)
    assert missing.code == 2 and "no campaign 'Hiver'" in missing.err
    alone = cli("campaign", "export", "Noël", "--excel", ok=False)
    assert alone.code == 2 and "--excel: only with --csv FILE" in alone.err


def test_export_gives_each_recipients_plan_row_and_outcome(dispatched: Cli, engine: Engine) -> None:
    rows = json_lines(dispatched, "Noël")
    assert list(rows) == [DELIVERED, REFUSED, NO_BASIS, MARTINIQUE, OPTED_OUT, STOPPED]
    sent = messages(engine)
    ok = sent[DELIVERED]
    assert rows[DELIVERED] == {
        "phone": DELIVERED, "decision": "send", "basis": "consent", "reason": None,
        "label": "Consentement préalable", "deferral": None, "territory": "metropole",
        "timezone": "Europe/Paris", "send_at": "2026-12-01T10:00:00+01:00", "segments": 1,
        "encoding": "UCS-2", "text": SENT, "state": "delivered", "state_reason": None,
        "attempts": 1, "submitted_at": local(ok.submitted_at),
        "valid_until": "2026-12-01T20:00:00+01:00", "delivered_at": local(ok.done_at),
        "done_at": local(ok.done_at), "error_code": None, "error": None,
        "message_ids": carrier_ids(engine, ok.id),
    }  # fmt: skip
    assert ok.submitted_at >= START and ok.done_at >= ok.submitted_at
    assert len(rows[DELIVERED]["message_ids"]) == 1 and rows[DELIVERED]["message_ids"][0]
    refused = rows[REFUSED]
    assert (refused["state"], refused["error_code"], refused["delivered_at"]) == (
        "failed", 0x0B, None,
    )  # fmt: skip
    assert "ESME_RINVDSTADR" in refused["error"] and refused["done_at"] is not None
    assert refused["submitted_at"] is None and refused["message_ids"] == []
    assert rows[NO_BASIS] == {
        **dict.fromkeys(rows[NO_BASIS], None), "phone": NO_BASIS, "decision": "exclude",
        "reason": "no_legal_basis", "label": "Aucune base légale", "territory": "metropole",
        "timezone": "Europe/Paris", "message_ids": [],
    }  # fmt: skip
    held = rows[MARTINIQUE]  # 05:00 in Fort-de-France at the start: its own 08:00
    assert (held["decision"], held["deferral"], held["timezone"], held["send_at"]) == (
        "send", "quiet_hours", "America/Martinique", "2026-12-01T08:00:00-04:00",
    )  # fmt: skip
    assert (held["state"], held["submitted_at"], held["message_ids"]) == ("queued", None, [])
    assert (rows[OPTED_OUT]["reason"], rows[OPTED_OUT]["state"]) == ("opted_out", None)
    stopped = rows[STOPPED]  # planned to go, stopped by the STOP that came after the plan
    assert (stopped["decision"], stopped["state"], stopped["state_reason"]) == (
        "send", "cancelled", "opted_out",
    )  # fmt: skip
    # Without --json: the same rows as a CSV on stdout (no BOM), in the same order.
    plain = dispatched("campaign", "export", "Noël", "--advertiser", LUMIERE).out
    table = list(csv.DictReader(io.StringIO(plain)))
    assert not plain.startswith("\ufeff") and [r["phone"] for r in table] == list(rows)
    assert table[0]["send_at"] == "2026-12-01T10:00:00+01:00"
    assert table[0]["message_ids"] == " ".join(rows[DELIVERED]["message_ids"])
    assert table[0]["text"] == SENT and table[2]["state"] == ""


def test_export_files_plain_and_excel(
    dispatched: Cli, engine: Engine, tmp_path: Path, open_umask: None
) -> None:
    plain, excel = tmp_path / "noel.csv", tmp_path / "noel-excel.csv"
    done = dispatched("campaign", "export", "Noël", "--csv", str(plain))
    assert done.out == f"exported 6 recipient(s) of 'Noël' to {plain}\n"
    dispatched("campaign", "export", "Noël", "--csv", str(excel), "--excel")
    for path in (plain, excel):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM
    rows = list(csv.DictReader(io.StringIO(plain.read_text("utf-8-sig"))))
    assert [r["phone"] for r in rows][:2] == [DELIVERED, REFUSED]
    assert rows[3]["send_at"] == "2026-12-01T08:00:00-04:00"  # the recipient's own time
    text = excel.read_text("utf-8-sig")
    header = text.splitlines()[0]
    assert header.startswith("phone;decision;basis;reason;label;deferral;territory;")
    table = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    ok = messages(engine)[DELIVERED]
    paris = "%d/%m/%Y %H:%M:%S"
    assert table[0]["send_at"] == "01/12/2026 10:00:00"
    assert table[0]["submitted_at"] == ok.submitted_at.astimezone(PARIS).strftime(paris)
    assert table[0]["delivered_at"] == ok.done_at.astimezone(PARIS).strftime(paris)
    assert table[0]["valid_until"] == "01/12/2026 20:00:00"
    assert table[0]["label"] == "Consentement préalable" and table[0]["text"] == SENT
    assert table[3]["send_at"] == "01/12/2026 13:00:00"  # 08:00 in Martinique, Paris time
    again = dispatched("campaign", "export", "Noël", "--csv", str(excel), ok=False)
    assert again.code == 2 and "exists already" in again.err
    assert excel.read_text("utf-8-sig") == text  # never written over


def test_export_by_worker_processes_writes_the_same_rows(
    dispatched: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ranges of recipients written by forked workers, appended in order: the same bytes as
    one process writes, in every form (a header once, one BOM); no temporary file left."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    for form in ([], ["--json"], ["--csv", "{path}"], ["--csv", "{path}", "--excel"]):
        outputs = []
        for workers in ("0", "2"):
            path = tmp_path / f"w{workers}-{len(form)}.csv"
            args = [a.format(path=path) for a in form]
            done = dispatched("campaign", "export", "Noël", *args, "--workers", workers)
            outputs.append(path.read_bytes() if "--csv" in form else done.out.encode())
        assert outputs[0] == outputs[1], form
        headers = outputs[1].count(b"phone,decision") + outputs[1].count(b"phone;decision")
        assert headers == (0 if "--json" in form else 1)
        assert outputs[1].count(b"\n") == (6 if "--json" in form else 7)
        assert outputs[1].count(b"\xef\xbb\xbf") == (1 if "--csv" in form else 0)
    assert list(scratch.iterdir()) == []


def test_export_is_audited_without_numbers(dispatched: Cli, engine: Engine) -> None:
    from tambour.store.tables import audit_log

    dispatched("campaign", "export", "Noël", "--json")
    with engine.connect() as conn:
        [details] = conn.execute(
            select(audit_log.c.details).where(audit_log.c.action == "campaign.export")
        ).scalars()
    said = json.loads(details)
    assert (said["campaign"], said["rows"], said["form"]) == ("Noël", 6, "json")
    assert said["generation"] == 1
    # A launched campaign cancelled since keeps its frozen plan: still exported, as it ended.
    dispatched("campaign", "cancel", "Noël")
    after = json_lines(dispatched, "Noël")
    assert len(after) == 6 and after[MARTINIQUE]["state"] == "cancelled"
    assert after[DELIVERED]["state"] == "delivered"
    assert "612345" not in details


def test_export_shows_one_advertisers_campaign_only(
    cli: Cli, engine: Engine, tmp_path: Path
) -> None:
    """Two advertisers with a campaign of one name to the same numbers: each export holds its
    own advertiser's rows; without --advertiser the name is ambiguous."""
    cli("advertiser", "create", CAVE, "--name", "Cave Dupont SARL", "--sender", "CDUPONT",
        "--stop-number", "36222", "--categories", "luminaires")  # fmt: skip
    launch(cli, tmp_path, LUMIERE)
    cli.env["TAMBOUR_NOW"] = "2026-12-01T09:05:00+01:00"
    launch(cli, tmp_path, CAVE)
    ambiguous = cli("campaign", "export", "Noël", ok=False)
    assert ambiguous.code == 2 and "--advertiser" in ambiguous.err
    ours = json_lines(cli, "Noël", "--advertiser", LUMIERE)
    theirs = json_lines(cli, "Noël", "--advertiser", CAVE)
    assert list(ours) == list(theirs)  # the same numbers...
    assert {r["text"] for r in ours.values() if r["text"]} == {SENT}
    assert {r["text"] for r in theirs.values() if r["text"]} == {TEXT + " STOP au 36222"}


# --- proof ------------------------------------------------------------------------------------


def sections(report: str) -> list[str]:
    return [line for line in report.splitlines() if line and line == line.upper() != line.lower()]


def test_proof_of_a_delivered_message(dispatched: Cli, engine: Engine) -> None:
    report = dispatched("proof", "06 12 34 56 01", "--advertiser", LUMIERE).out
    lines = report.splitlines()
    assert lines[0] == f"PROOF FOR {DELIVERED}, advertiser {LUMIERE} (Maison Lumière SAS)"
    assert lines[1] == "Made 01/12/2026 09:00:00. Every time is Paris time unless said otherwise."
    assert [s for s in lines if s and not s.startswith(" ")][2:] == [
        "CONTACT", "CAMPAIGN 'Noël' (commercial, sender MLUMIERE), planned 01/12/2026 09:00:00, "
        "launched 01/12/2026 09:00:00: the plan is frozen", "SUPPRESSION LIST",
        "REPLIES FROM THIS NUMBER", "AUDIT ENTRIES (hash chain)",
        "The whole chain and every row are checked by `tambour audit verify`.",
    ]  # fmt: skip
    profile = next(line for line in lines if line.startswith("  Profile: "))
    assert "first_name=Léa" in profile and "postal_code=75011" in profile
    assert "    SEND, legal basis consent: Consentement préalable" in lines
    rule = next(line for line in lines if line.startswith("    Rule (docs/rules.md §4): "))
    assert "consent = yes, dated" in rule
    assert "    Send time: 01/12/2026 10:00:00" in lines
    assert "    Message: 1 part(s), UCS-2, UCS-2 forced by 'ë':" in lines
    assert f"      {SENT}" in lines
    message = messages(engine)[DELIVERED]
    [carrier_id] = carrier_ids(engine, message.id)
    paris = "%d/%m/%Y %H:%M:%S"
    trail = [
        f"    Message #{message.id} from MLUMIERE: delivered, 1 attempt(s)",
        "    01/12/2026 09:00:00  queued at launch",
    ]
    assert all(line in lines for line in trail)
    at = lines.index(trail[1])
    submitted = message.submitted_at.astimezone(PARIS).strftime(paris)
    done = message.done_at.astimezone(PARIS).strftime(paris)
    taken = f"    {submitted}  taken by the carrier, 1 part(s), valid until 01/12/2026 20:00:00"
    assert taken in lines[at:]
    assert f"    {done}  receipt: part 1 delivered (id {carrier_id})" in lines[at:]
    assert f"    {done}  final state: delivered" in lines[at:]
    batch = next(line for line in lines[at:] if "worker batch: submitted" in line)
    assert batch.endswith("]") and "[audit #" in batch
    # The evidence the plan weighed: the imported consent, its source, sealed and listed.
    assert "  Evidence the plan weighed (facts up to #" in report
    assert "consent_given" in report and "method=web_form" in report
    assert (
        "source import:maison-lumiere.csv, recorded 01/12/2026 09:00:00 by test:alice; seal valid"
    ) in report
    assert "  Evidence recorded since the plan\n    None." in report
    assert "  No entry: the number is not on the advertiser's suppression list." in lines
    audit = report[report.index("AUDIT ENTRIES") :]
    for action, names in (
        ("contacts.import.rows", "names: evidence #"),
        ("campaign.plan", "names: plan of 'Noël' (generation 1, 6 rows)"),
        ("campaign.launch", "names: launch of 'Noël'"),
        ("dispatch.batch", f"names: message #{message.id} submitted"),
    ):
        assert f" {action} by " in audit and names in audit, action
    assert audit.count(": intact") == audit.count("\n  #") and "DOES NOT MATCH" not in report


def test_proof_of_an_excluded_recipient_and_json(dispatched: Cli) -> None:
    report = dispatched("proof", NO_BASIS, "--advertiser", LUMIERE).out
    assert "    EXCLUDED, reason no_legal_basis: Aucune base légale" in report
    assert "Rule (docs/rules.md §5): nothing in the evidence allows the message" in report
    assert "  Dispatch\n    No message: the recipient was excluded." in report
    found = dispatched("proof", NO_BASIS, "--advertiser", LUMIERE, "--json").json()
    [planned] = found["campaigns"]
    assert (planned["decision"], planned["reason"], planned["basis"]) == (
        "exclude", "no_legal_basis", None,
    )  # fmt: skip
    assert planned["rule"]["label"] == "Aucune base légale"
    assert planned["rule"]["section"] == "docs/rules.md §5"
    assert planned["message"] is None and planned["campaign"]["frozen"] is True
    assert planned["plan_row"]["seal_ok"] is True and planned["plan_row"]["text"] is None
    assert planned["evidence"] == [] == found["evidence"]  # nothing known but the number
    assert found["number"] == NO_BASIS and found["suppression"] is None
    assert found["replies"] == [] and found["made_at"] == PLANNED
    assert {e["action"] for e in found["audit"]} >= {"campaign.plan", "campaign.launch"}


def test_proof_of_a_stop_after_the_plan(dispatched: Cli) -> None:
    """The STOP came after the plan: the proof shows the opt-out as evidence recorded since,
    the suppression entry and the reply, the message cancelled, and the entries of each."""
    found = dispatched("proof", STOPPED, "--advertiser", LUMIERE, "--json").json()
    [planned] = found["campaigns"]
    assert planned["decision"] == "send" and planned["basis"] == "consent"
    assert [f["kind"] for f in planned["evidence_since_plan"]] == ["opt_out"]
    opt_out = planned["evidence_since_plan"][0]
    assert (opt_out["data"], opt_out["at"], opt_out["seal_ok"]) == (
        {"source": "sms_stop"}, "2026-12-01T09:30:00+01:00", True,
    )  # fmt: skip
    message = planned["message"]
    assert (message["state"], message["reason"], message["parts"]) == (
        "cancelled", "opted_out", [],
    )  # fmt: skip
    trail = [s["what"] for s in message["trail"]]
    assert trail[0] == "queued at launch" and "taken by the carrier" not in str(trail)
    assert {"final state: cancelled (opted_out)", "worker batch: cancelled"} <= set(trail)
    assert found["suppression"]["source"] == "sms_stop"
    assert found["suppression"]["suppressed_at"] == "2026-12-01T09:30:00+01:00"
    [reply] = found["replies"]
    assert (reply["text"], reply["meaning"], reply["status"], reply["to"]) == (
        "Merci STOP", "stop", "opted_out", "36111",
    )  # fmt: skip
    stop = next(e for e in found["audit"] if e["action"] == "reply.stop")
    assert f"reply #{reply['id']}" in stop["covers"]
    assert f"evidence #{opt_out['id']}" in stop["covers"]
    assert f"suppression entry #{found['suppression']['id']}" in stop["covers"]
    assert any(
        c == f"message #{message['id']} cancelled"
        for e in found["audit"]
        if e["action"] == "dispatch.batch"
        for c in e["covers"]
    )
    seqs = [e["seq"] for e in found["audit"]]
    assert seqs == sorted(seqs) and all(e["intact"] for e in found["audit"])
    report = dispatched("proof", STOPPED, "--advertiser", LUMIERE).out
    assert "  Entry #" in report and ": sms_stop since 01/12/2026 09:30:00" in report
    assert "read as stop, opted_out, handled 01/12/2026 09:30:00 by worker:test" in report
    assert "      Merci STOP" in report


def test_proof_isolates_advertisers(cli: Cli, engine: Engine, tmp_path: Path) -> None:
    """The same numbers are contacts of two advertisers, each with its campaign; one replied
    to the other: each advertiser's proof holds its own contact, plan and replies only."""
    cli("advertiser", "create", CAVE, "--name", "Cave Dupont SARL", "--sender", "CDUPONT",
        "--stop-number", "36222", "--categories", "luminaires")  # fmt: skip
    launch(cli, tmp_path, LUMIERE, "Noël")
    launch(cli, tmp_path, CAVE, "Vendanges")
    stop_reply(engine, DELIVERED, "36222")  # to the cave's short number only
    ours = cli("proof", DELIVERED, "--advertiser", LUMIERE, "--json").json()
    theirs = cli("proof", DELIVERED, "--advertiser", CAVE, "--json").json()
    assert [p["campaign"]["name"] for p in ours["campaigns"]] == ["Noël"]
    assert [p["campaign"]["name"] for p in theirs["campaigns"]] == ["Vendanges"]
    assert ours["contact"]["id"] != theirs["contact"]["id"]
    assert ours["replies"] == [] and ours["suppression"] is None
    assert [r["text"] for r in theirs["replies"]] == ["Merci STOP"]
    assert theirs["suppression"]["source"] == "sms_stop"
    assert {f["id"] for f in ours["evidence"]}.isdisjoint(f["id"] for f in theirs["evidence"])
    text = ours["campaigns"][0]["plan_row"]["text"]
    assert text == SENT and "36222" not in json.dumps(ours)
    assert not any("reply" in c for e in ours["audit"] for c in e["covers"])
    # A campaign of the other advertiser is not found, as one that does not exist.
    refused = cli("proof", DELIVERED, "--advertiser", LUMIERE, "--campaign", "Vendanges", ok=False)
    assert refused.code == 2 and f"{LUMIERE} has no campaign 'Vendanges'" in refused.err
    # A number only the other advertiser had is not known to this one.
    cli("optout", "add", "06 99 88 77 66", "--advertiser", CAVE, "--source", "manual")
    unknown = cli("proof", "06 99 88 77 66", "--advertiser", LUMIERE, ok=False)
    assert unknown.code == 2
    assert unknown.err == f"error: {LUMIERE} has no contact, opt-out or reply from +33699887766\n"
    known = cli("proof", "06 99 88 77 66", "--advertiser", CAVE)
    assert "  Not a contact of cave-dupont: only an opt-out or replies of this number." in (
        known.out
    )
    assert "manual since 01/12/2026 09:00:00" in known.out


def test_proof_lists_campaigns_most_recent_first_and_filters(cli: Cli, tmp_path: Path) -> None:
    launch(cli, tmp_path, LUMIERE, "Noël")
    cli.env["TAMBOUR_NOW"] = "2026-12-01T09:30:00+01:00"
    cli("campaign", "create", "--advertiser", LUMIERE, "--name", "Réveillon",
        "--nature=commercial", "--sender=MLUMIERE", "--text=Réveillon : nos bougies.",
        "--start=2026-12-02T10:00")  # fmt: skip
    cli("campaign", "plan", "Réveillon")  # planned, never launched
    found = cli("proof", DELIVERED, "--advertiser", LUMIERE, "--json").json()
    assert [(p["campaign"]["name"], p["campaign"]["frozen"]) for p in found["campaigns"]] == [
        ("Réveillon", False), ("Noël", True),
    ]  # fmt: skip
    only = cli("proof", DELIVERED, "--advertiser", LUMIERE, "--campaign", "Noël", "--json")
    assert [p["campaign"]["name"] for p in only.json()["campaigns"]] == ["Noël"]
    report = cli("proof", DELIVERED, "--advertiser", LUMIERE).out
    assert ": NOT LAUNCHED, the plan is not frozen and nothing was sent" in report
    assert report.index("CAMPAIGN 'Réveillon'") < report.index("CAMPAIGN 'Noël'")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("06 12",), "error: '06 12' is not a valid phone number\n"),
        (("06 00 00 00 00",), f"error: {LUMIERE} has no contact, opt-out or reply from "
         "+33600000000\n"),
        (("06 12 34 56 01", "--campaign", "Hiver"), f"error: {LUMIERE} has no campaign "
         "'Hiver' (see `tambour campaign list`)\n"),
    ],
)  # fmt: skip
def test_proof_refusals_are_one_line(
    cli: Cli, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    cli("contacts", "import", str(contacts_file(tmp_path, LUMIERE)), "--advertiser", LUMIERE)
    refused = cli("proof", *args, "--advertiser", LUMIERE, ok=False)
    assert (refused.code, refused.err, refused.out) == (2, message, "")
    nobody = cli("proof", DELIVERED, "--advertiser", "nobody", ok=False)
    assert nobody.code == 2 and "no advertiser 'nobody'" in nobody.err
