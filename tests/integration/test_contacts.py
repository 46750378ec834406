"""Issue 3 through the command line, on SQLite and PostgreSQL: advertisers, import, show,
export, opt-outs, the audit log and tenant isolation."""

import csv
import io
from importlib import resources
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from tambour.contacts.row import CANONICAL_COLUMNS
from tambour.store.tables import audit_log, contacts, evidence, suppressions
from tests.integration.cli import Cli

SAMPLE = resources.files("tambour") / "data" / "sample_contacts.csv"


@pytest.fixture
def cli(db_url: str) -> Cli:
    return Cli(db_url)


def write_csv(
    path: Path, rows: list[dict[str, str]], *, delimiter: str = ",", encoding: str = "utf-8"
) -> Path:
    header = list(dict.fromkeys(k for row in rows for k in row))
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, delimiter=delimiter, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


def sample_file(tmp_path: Path) -> Path:
    target = tmp_path / "sample.csv"
    target.write_bytes(SAMPLE.read_bytes())
    return target


def count(engine: Engine, table) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


# --- advertisers ----------------------------------------------------------------------------


def test_advertiser_create_list_show(cli: Cli) -> None:
    cli.advertiser()
    listed = cli("advertiser", "list", "--json").json()
    assert [a["slug"] for a in listed] == ["maison-lumiere"]
    shown = cli("advertiser", "show", "maison-lumiere", "--json").json()
    assert shown["senders"] == ["MLUMIERE"] and shown["stop_number"] == "36111"
    assert shown["categories"] == ["luminaires", "décoration"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--sender", "INFO", "--stop-number", "36111"), "generic"),
        (("--sender", "BRAND", "--stop-number", "1234"), "short number"),
        (("--sender", "AB", "--stop-number", "36111"), "3 to 11"),
    ],
)
def test_advertiser_bad_input_is_refused_with_a_message(
    cli: Cli, args: tuple[str, ...], message: str
) -> None:
    result = cli("advertiser", "create", "acme", "--name", "Acme SA", *args, ok=False)
    assert result.code == 2 and message in result.err
    assert cli("advertiser", "list", "--json").json() == []


def test_duplicate_slug_is_refused(cli: Cli) -> None:
    cli.advertiser()
    result = cli("advertiser", "create", "maison-lumiere", "--name", "X", "--sender", "XBRAND",
                 "--stop-number", "36112", ok=False)  # fmt: skip
    assert result.code == 2 and "exists already" in result.err


# --- import ---------------------------------------------------------------------------------


def test_import_sample_counts_rejects_and_audit(cli: Cli, engine: Engine, tmp_path: Path) -> None:
    cli.advertiser()
    summary = cli(
        "contacts", "import", str(sample_file(tmp_path)), "--advertiser", "maison-lumiere", "--json"
    ).json()
    # 37 rows: one number too short is rejected; C017 is C001's number in another notation.
    assert summary["rows"] == 37 and summary["rejected"] == 1
    assert (summary["created"], summary["duplicates"], summary["updated"]) == (35, 1, 0)
    assert summary["rejected_by_reason"] == {"phone: invalid number": 1}
    rejects = Path(summary["rejects_file"])
    assert rejects.name == "sample.rejects.csv"
    lines = list(csv.DictReader(io.StringIO(rejects.read_text(encoding="utf-8-sig"))))
    assert [(r["line"], r["field"]) for r in lines] == [("16", "phone")]
    assert count(engine, contacts) == 35
    entries = cli("audit", "list", "--json").json()
    assert entries[0]["action"] == "contacts.import" and entries[0]["details"]["created"] == 35
    assert cli("audit", "verify").code == 0


def test_a_clean_import_leaves_no_rejects_file_and_keeps_earlier_ones(
    cli: Cli, tmp_path: Path
) -> None:
    cli.advertiser()
    path = tmp_path / "c.csv"
    path.write_text("phone\n0612\n0612345678\n", encoding="utf-8")
    cli("contacts", "import", str(path), "--advertiser", "maison-lumiere")
    earlier = (tmp_path / "c.rejects.csv").read_bytes()
    path.write_text("phone\n0612345679\n0612345678\n", encoding="utf-8")
    summary = cli(
        "contacts", "import", str(path), "--advertiser", "maison-lumiere", "--json"
    ).json()
    assert summary["rejected"] == 0 and summary["rejects_file"] is None
    # No new rejects file; the earlier one is the user's to remove, never Tambour's.
    assert [p.name for p in tmp_path.glob("c.rejects*")] == ["c.rejects.csv"]
    assert (tmp_path / "c.rejects.csv").read_bytes() == earlier


def test_reimport_adds_nothing(cli: Cli, engine: Engine, tmp_path: Path) -> None:
    cli.advertiser()
    path = sample_file(tmp_path)
    cli("contacts", "import", str(path), "--advertiser", "maison-lumiere")
    before = count(engine, evidence)
    again = cli("contacts", "import", str(path), "--advertiser", "maison-lumiere", "--json").json()
    assert again["created"] == 0 and again["evidence_added"] == 0
    # C001 and C017 share a number: folded into one set of facts, which has not changed.
    assert (again["unchanged"], again["duplicates"], again["updated"]) == (35, 1, 0)
    assert count(engine, evidence) == before


def test_two_notations_are_one_contact(cli: Cli, engine: Engine, tmp_path: Path) -> None:
    cli.advertiser()
    path = write_csv(tmp_path / "n.csv", [
        {"phone": "06 12 34 56 78", "consent": "yes", "consent_at": "2026-01-01"},
        {"phone": "+33 6 12 34 56 78", "consent": "yes", "consent_at": "2026-01-01"},
        {"phone": "0033612345678", "last_activity_at": "2026-02-01"},
    ])  # fmt: skip
    summary = cli(
        "contacts", "import", str(path), "--advertiser", "maison-lumiere", "--json"
    ).json()
    assert (summary["created"], summary["duplicates"], summary["updated"]) == (1, 2, 0)
    assert count(engine, contacts) == 1 and count(engine, evidence) == 2


def test_every_canonical_column_is_stored_and_shown(cli: Cli, tmp_path: Path) -> None:
    cli.advertiser()
    row = {
        "phone": "07 81 22 33 44", "external_id": "P-1", "first_name": "Hugo", "last_name": "Petit",
        "company": "Atelier Petit", "kind": "professional", "profession_tags": "architecture;BTP",
        "postal_code": "57000", "tags": "salon;vip", "consent": "oui",
        "consent_at": "2026-03-01T10:00:00+01:00", "consent_channels": "sms;fax",
        "consent_method": "paper_form", "consent_checkbox_prechecked": "non",
        "consent_bundled_with_terms": "non", "consent_advertiser": "Maison Lumière",
        "consent_wording": "J'accepte les SMS", "consent_source": "salon Metz",
        "consent_proof": "scan-17", "collected_at": "2026-03-01", "collected_by": "advertiser",
        "informed_at_collection": "oui", "objection_offered_at_collection": "oui",
        "third_party_information_proof": "", "account_created_at": "2026-03-02",
        "last_purchase_at": "2026-03-05", "purchased_categories": "luminaires",
        "opted_out": "", "opted_out_at": "", "opt_out_source": "",
        "last_activity_at": "2026-03-06", "member_since": "2025-06-01", "salon": "Metz 2026",
    }  # fmt: skip
    assert set(CANONICAL_COLUMNS) <= set(row)
    path = write_csv(tmp_path / "all.csv", [row])
    cli("contacts", "import", str(path), "--advertiser", "maison-lumiere")
    shown = cli(
        "contacts", "show", "+33781223344", "--advertiser", "maison-lumiere", "--json"
    ).json()
    contact = shown["contact"]
    assert contact["kind"] == "professional" and contact["postal_code"] == "57000"
    assert contact["profession_tags"] == ["architecture", "BTP"] and contact["tags"] == [
        "salon",
        "vip",
    ]
    assert contact["fields"] == {"salon": "Metz 2026"} and contact["external_id"] == "P-1"
    kinds = {e["kind"]: e for e in shown["evidence"]}
    assert set(kinds) == {
        "consent_given", "collected", "account_created", "purchase", "activity", "membership",
    }  # fmt: skip
    assert kinds["membership"]["at"] == "2025-05-31T22:00:00+00:00"
    consent = kinds["consent_given"]
    assert consent["at"] == "2026-03-01T09:00:00+00:00"
    assert consent["data"]["channels"] == ["fax", "sms"] and consent["data"]["proof"] == "scan-17"
    assert consent["recorded_by"] == "test:alice" and consent["source"] == "import:all.csv"
    assert kinds["purchase"]["data"] == {"categories": ["luminaires"]}
    standing = shown["standing"]
    assert (
        standing["commercial"]["decision"] == "send"
        and standing["commercial"]["basis"] == "consent"
    )
    assert standing["commercial"]["bases"]["b2b_legitimate_interest"] == "holds"
    assert standing["commercial"]["bases"]["existing_customer"] == "not_applicable"


def test_each_kind_of_malformed_row_is_rejected_whole(
    cli: Cli, engine: Engine, tmp_path: Path
) -> None:
    cli.advertiser()
    path = tmp_path / "bad.csv"
    path.write_text(
        "phone,consent,consent_at,kind,first_name\n"
        "0612345601,yes,2026-01-01,person,Ok1\n"
        "06123,yes,2026-01-01,person,BadPhone\n"
        "0612345603,yes,2026-13-45,person,BadDate\n"
        "0612345604,peut-être,2026-01-01,person,BadBool\n"
        "0612345605,yes,2026-01-01,robot,BadKind\n"
        "0612345606,yes,2026-01-01,person,Extra,cell\n"
        "0612345607,yes\n"
        "0612345608,yes,2026-01-01,person,Ok2\n",
        encoding="utf-8",
    )
    summary = cli(
        "contacts", "import", str(path), "--advertiser", "maison-lumiere", "--json"
    ).json()
    assert summary["created"] == 2 and summary["rejected"] == 6
    rejects = list(
        csv.DictReader(io.StringIO((tmp_path / "bad.rejects.csv").read_text(encoding="utf-8-sig")))
    )
    assert [(r["line"], r["field"]) for r in rejects] == [
        ("3", "phone"),
        ("4", "consent_at"),
        ("5", "consent"),
        ("6", "kind"),
        ("7", ""),
        ("8", ""),
    ]
    assert "BadDate" in {r["first_name"] for r in rejects}
    with engine.connect() as conn:
        names = {p["first_name"] for p in conn.execute(select(contacts.c.profile)).scalars()}
    assert names == {"Ok1", "Ok2"}  # nothing of a rejected row was kept


@pytest.mark.parametrize(
    ("encoding", "delimiter", "bom"),
    [("utf-8", ",", False), ("utf-8", ";", True), ("cp1252", ";", False), ("utf-8", "\t", False)],
)
def test_encodings_and_separators(
    cli: Cli, tmp_path: Path, encoding: str, delimiter: str, bom: bool
) -> None:
    cli.advertiser()
    content = delimiter.join(["Téléphone", "Prénom", "Société", "ville"]) + "\r\n"
    content += delimiter.join(["06 12 34 56 78", "Éloïse", "Œuvres & Cie", "Besançon"]) + "\r\n"
    raw = content.encode(encoding)
    (tmp_path / "f.csv").write_bytes((b"\xef\xbb\xbf" if bom else b"") + raw)
    summary = cli(
        "contacts", "import", str(tmp_path / "f.csv"), "--advertiser", "maison-lumiere", "--json"
    ).json()
    assert summary["created"] == 1, summary
    contact = cli(
        "contacts", "show", "0612345678", "--advertiser", "maison-lumiere", "--json"
    ).json()["contact"]
    assert contact["first_name"] == "Éloïse" and contact["company"] == "Œuvres & Cie"
    assert contact["fields"] == {"ville": "Besançon"}


def test_mapping_file(cli: Cli, tmp_path: Path) -> None:
    cli.advertiser()
    (tmp_path / "map.toml").write_text(
        '[columns]\n"Num" = "phone"\n"Opt-in" = "consent"\n"Quand" = "consent_at"\n"Ignore" = ""\n',
        encoding="utf-8",
    )
    path = write_csv(
        tmp_path / "m.csv",
        [{"Num": "0612345678", "Opt-in": "oui", "Quand": "2026-05-01", "Ignore": "x"}],
    )
    cli(
        "contacts",
        "import",
        str(path),
        "--advertiser",
        "maison-lumiere",
        "--mapping",
        str(tmp_path / "map.toml"),
    )
    shown = cli("contacts", "show", "0612345678", "--advertiser", "maison-lumiere", "--json").json()
    assert [e["kind"] for e in shown["evidence"]] == ["consent_given"]
    assert "fields" not in shown["contact"]


def test_dry_run_keeps_nothing(cli: Cli, engine: Engine, tmp_path: Path) -> None:
    cli.advertiser()
    summary = cli(
        "contacts",
        "import",
        str(sample_file(tmp_path)),
        "--advertiser",
        "maison-lumiere",
        "--dry-run",
        "--json",
    ).json()
    assert summary["created"] == 35 and summary["dry_run"] is True
    assert count(engine, contacts) == 0 and count(engine, evidence) == 0


def test_unreadable_file_is_a_clear_error(cli: Cli, tmp_path: Path) -> None:
    cli.advertiser()
    missing = cli(
        "contacts", "import", str(tmp_path / "nope.csv"), "--advertiser", "maison-lumiere", ok=False
    )
    assert missing.code == 2 and "nope.csv" in missing.err
    (tmp_path / "nophone.csv").write_text("name,city\nA,B\n", encoding="utf-8")
    no_phone = cli(
        "contacts",
        "import",
        str(tmp_path / "nophone.csv"),
        "--advertiser",
        "maison-lumiere",
        ok=False,
    )
    assert no_phone.code == 2 and "phone" in no_phone.err
    unknown = cli(
        "contacts", "import", str(tmp_path / "nophone.csv"), "--advertiser", "nobody", ok=False
    )
    assert unknown.code == 2


# --- export ---------------------------------------------------------------------------------


def test_import_export_round_trip(cli: Cli, tmp_path: Path) -> None:
    cli.advertiser()
    cli.advertiser("copie")
    cli("contacts", "import", str(sample_file(tmp_path)), "--advertiser", "maison-lumiere")
    first = cli("contacts", "export", "--advertiser", "maison-lumiere").out
    (tmp_path / "export.csv").write_text(first, encoding="utf-8")
    again = cli(
        "contacts",
        "import",
        str(tmp_path / "export.csv"),
        "--advertiser",
        "maison-lumiere",
        "--json",
    ).json()
    assert again["evidence_added"] == 0 and again["created"] == 0 and again["updated"] == 0
    cli("contacts", "import", str(tmp_path / "export.csv"), "--advertiser", "copie")
    second = cli("contacts", "export", "--advertiser", "copie").out
    assert second == first
    rows = list(csv.DictReader(io.StringIO(first)))
    assert len(rows) == 35
    c001 = next(r for r in rows if r["phone"] == "+33612345601")
    assert c001["consent_at"] == "2026-09-14T18:22:05+02:00" and c001["consent"] == "yes"
    assert c001["ville"] == "Paris" and c001["external_id"] == "C017"  # the later row's profile


def test_export_is_consistent_with_the_sample_decisions(cli: Cli, tmp_path: Path) -> None:
    """What the demo decides from the file, it decides from the file's export."""
    from tambour.contacts.ledger import facts_of_row
    from tambour.contacts.row import parse_row
    from tambour.demo import DEMO_START, SAMPLE_ADVERTISER, sample_campaigns
    from tambour.rules.decision import decide_all

    cli.advertiser()
    cli("contacts", "import", str(sample_file(tmp_path)), "--advertiser", "maison-lumiere")
    exported = cli("contacts", "export", "--advertiser", "maison-lumiere").out
    rows = [parse_row(cells)[0] for cells in csv.DictReader(io.StringIO(exported))]
    campaign = sample_campaigns(DEMO_START)[0].facts
    decided = {
        c.phone.e164: d.code
        for c, d in decide_all(
            (facts_of_row(r) for r in rows if r), campaign, SAMPLE_ADVERTISER, DEMO_START
        )
    }
    assert (
        decided["+33612345618"] == "opted_out"
        and decided["+33612345620"] == "consent_prechecked_box"
    )
    assert (
        decided["+590690123408"] == "consent"
        and decided["+33781223329"] == "b2b_not_relevant_to_profession"
    )


# --- opt-outs -------------------------------------------------------------------------------


def test_optout_add_is_effective_at_once_and_survives(
    cli: Cli, engine: Engine, tmp_path: Path
) -> None:
    cli.advertiser()
    cli("contacts", "import", str(sample_file(tmp_path)), "--advertiser", "maison-lumiere")
    before = cli(
        "contacts", "show", "0612345601", "--advertiser", "maison-lumiere", "--json"
    ).json()
    assert before["standing"]["commercial"]["decision"] == "send"
    cli("optout", "add", "06 12 34 56 01", "--advertiser", "maison-lumiere", "--source", "sms_stop")
    after = cli("contacts", "show", "0612345601", "--advertiser", "maison-lumiere", "--json").json()
    assert after["standing"]["commercial"]["reason"] == "opted_out"
    assert after["evidence"][-1]["kind"] == "opt_out" and after["evidence"][-1]["data"] == {
        "source": "sms_stop"
    }
    assert after["contact"]["suppressed"]["source"] == "sms_stop"
    # A number that is not a contact is suppressed all the same, and only as a hash.
    cli("optout", "add", "0699999999", "--advertiser", "maison-lumiere")
    with engine.connect() as conn:
        stored = conn.execute(select(suppressions.c.phone_hash)).scalars().all()
    assert all(len(h) == 32 for h in stored) and len(stored) >= 2
    bad = cli("optout", "add", "0699", "--advertiser", "maison-lumiere", ok=False)
    assert bad.code == 2
    wrong_source = cli(
        "optout",
        "add",
        "0699999999",
        "--advertiser",
        "maison-lumiere",
        "--source",
        "spam",
        ok=False,
    )
    assert wrong_source.code == 2 and "complaint_33700" in wrong_source.err


def test_optout_import(cli: Cli, tmp_path: Path) -> None:
    cli.advertiser()
    cli("contacts", "import", str(sample_file(tmp_path)), "--advertiser", "maison-lumiere")
    (tmp_path / "stop.txt").write_text(
        "06 12 34 56 02\n+33612345603\nnot a number\n", encoding="utf-8"
    )
    result = cli(
        "optout", "import", str(tmp_path / "stop.txt"), "--advertiser", "maison-lumiere", "--json"
    ).json()
    assert result["accepted"] == 2 and result["rejected"] == 1 and result["rejects"][0]["line"] == 3
    shown = cli("contacts", "show", "0612345603", "--advertiser", "maison-lumiere", "--json").json()
    assert shown["standing"]["commercial"]["reason"] == "opted_out"
    (tmp_path / "list.csv").write_text(
        "phone;opt_out_source\n0612345605;complaint_33700\n", encoding="utf-8"
    )
    cli("optout", "import", str(tmp_path / "list.csv"), "--advertiser", "maison-lumiere")
    shown = cli("contacts", "show", "0612345605", "--advertiser", "maison-lumiere", "--json").json()
    assert shown["standing"]["commercial"]["reason"] == "complaint_33700"


# --- audit, isolation, schema ---------------------------------------------------------------


def test_audit_log_records_actions_without_phone_numbers(cli: Cli, tmp_path: Path) -> None:
    cli.advertiser()
    cli("contacts", "import", str(sample_file(tmp_path)), "--advertiser", "maison-lumiere")
    cli("optout", "add", "0612345601", "--advertiser", "maison-lumiere")
    cli("contacts", "export", "--advertiser", "maison-lumiere")
    entries = cli("audit", "list", "--json").json()
    assert [e["action"] for e in entries] == [
        "contacts.export",
        "optout.add",
        "contacts.import",
        "contacts.import.rows",  # the batch's rows, listed in its own transaction
        "advertiser.create",
    ]
    assert {e["actor"] for e in entries} == {"test:alice"}
    dump = str(entries)
    for number in ("0612345601", "612345601", "+33612345601"):
        assert number not in dump
    verified = cli("audit", "verify", "--json").json()
    assert verified["ok"] and verified["count"] == 5


def test_audit_verify_fails_on_tampering(cli: Cli, engine: Engine, tmp_path: Path) -> None:
    cli.advertiser()
    cli("contacts", "import", str(sample_file(tmp_path)), "--advertiser", "maison-lumiere")
    cli("optout", "add", "0612345601", "--advertiser", "maison-lumiere")
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            triggers = text(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'"
            )
            for name in conn.execute(triggers).scalars().all():
                conn.execute(text(f'DROP TRIGGER "{name}"'))
        conn.execute(audit_log.update().where(audit_log.c.seq == 2).values(actor="someone-else"))
    result = cli("audit", "verify", ok=False)
    assert result.code == 1 and "entry 2 was edited" in result.err


def test_tenants_never_see_each_other(cli: Cli, tmp_path: Path) -> None:
    cli.advertiser()
    cli(
        "advertiser",
        "create",
        "autre",
        "--name",
        "Autre SARL",
        "--sender",
        "AUTRE",
        "--stop-number",
        "36222",
    )
    cli("contacts", "import", str(sample_file(tmp_path)), "--advertiser", "maison-lumiere")
    hidden = cli("contacts", "show", "0612345601", "--advertiser", "autre", ok=False)
    assert hidden.code == 2 and "no contact" in hidden.err
    assert cli("contacts", "export", "--advertiser", "autre").out.count("\n") == 1  # header only
    # The same number imported for the other advertiser is its own contact with its own evidence.
    path = write_csv(tmp_path / "b.csv", [{"phone": "0612345601", "first_name": "Autre"}])
    assert (
        cli("contacts", "import", str(path), "--advertiser", "autre", "--json").json()["created"]
        == 1
    )
    b = cli("contacts", "show", "0612345601", "--advertiser", "autre", "--json").json()
    assert b["evidence"] == [] and b["contact"]["first_name"] == "Autre"
    a = cli("contacts", "show", "0612345601", "--advertiser", "maison-lumiere", "--json").json()
    assert a["contact"]["first_name"] == "Camille"
    # An opt-out at one advertiser does not opt the person out of the other.
    cli("optout", "add", "0612345601", "--advertiser", "autre")
    a = cli("contacts", "show", "0612345601", "--advertiser", "maison-lumiere", "--json").json()
    assert a["contact"]["suppressed"] is None


def test_commands_refuse_a_database_whose_schema_is_behind(tmp_path: Path) -> None:
    fresh = Cli(f"sqlite:///{tmp_path / 'new.db'}")
    result = fresh("advertiser", "list", ok=False)
    assert result.code == 2 and "tambour db upgrade" in result.err
    fresh("db", "upgrade")
    assert fresh("advertiser", "list", "--json").json() == []
    (entry,) = fresh("audit", "list", "--json").json()
    assert entry["action"] == "db.upgrade" and entry["details"]["from"] is None
    fresh("db", "upgrade")  # nothing to do: nothing to record
    assert len(fresh("audit", "list", "--json").json()) == 1


def test_a_phone_number_in_a_file_name_stays_out_of_the_audit_log(cli: Cli, tmp_path: Path) -> None:
    cli.advertiser()
    path = write_csv(tmp_path / "relance 06 12 34 56 78.csv", [{"phone": "0612345679"}])
    cli("contacts", "import", str(path), "--advertiser", "maison-lumiere")
    (tmp_path / "stop 0612345670.txt").write_text("0612345679\n", encoding="utf-8")
    cli("optout", "import", str(tmp_path / "stop 0612345670.txt"), "--advertiser", "maison-lumiere")
    entries = cli("audit", "list", "--json").json()
    assert entries[1]["details"]["file"] == "relance [phone].csv"
    assert entries[0]["details"]["file"] == "stop [phone].txt"
    shown = cli("contacts", "show", "0612345679", "--advertiser", "maison-lumiere", "--json").json()
    assert {e["source"] for e in shown["evidence"]} == {"optout-import:stop [phone].txt"}


def test_a_33700_report_turns_an_earlier_opt_out_into_a_complaint(cli: Cli, engine: Engine) -> None:
    cli.advertiser()
    cli("optout", "add", "0699999998", "--advertiser", "maison-lumiere", "--source", "sms_stop")
    cli(
        "optout",
        "add",
        "0699999998",
        "--advertiser",
        "maison-lumiere",
        "--source",
        "complaint_33700",
    )
    cli("optout", "add", "0699999998", "--advertiser", "maison-lumiere", "--source", "link")
    with engine.connect() as conn:
        assert conn.execute(select(suppressions.c.source)).scalars().all() == ["complaint_33700"]


# --- found in review ------------------------------------------------------------------------


def test_an_opposition_list_with_a_number_twice_opts_it_out_once(cli: Cli, tmp_path: Path) -> None:
    cli.advertiser()
    cli("contacts", "import", str(sample_file(tmp_path)), "--advertiser", "maison-lumiere")
    (tmp_path / "oo.csv").write_text(
        "0612345601\n+33 6 12 34 56 01\n06.12.34.56.01\n0612345602\n", encoding="utf-8"
    )
    result = cli(
        "optout", "import", str(tmp_path / "oo.csv"), "--advertiser", "maison-lumiere", "--json"
    ).json()
    assert result["accepted"] == 4
    for number in ("0612345601", "0612345602"):
        shown = cli("contacts", "show", number, "--advertiser", "maison-lumiere", "--json").json()
        assert shown["standing"]["commercial"]["reason"] == "opted_out"


def test_an_opposition_with_a_bad_date_is_recorded_now_not_dropped(
    cli: Cli, tmp_path: Path
) -> None:
    cli.advertiser()
    cli("contacts", "import", str(sample_file(tmp_path)), "--advertiser", "maison-lumiere")
    (tmp_path / "oo.csv").write_text(
        "Téléphone;opted_out_at;opt_out_source\n0612345601;2025-02-30;STOP\n", encoding="utf-8"
    )
    result = cli(
        "optout", "import", str(tmp_path / "oo.csv"), "--advertiser", "maison-lumiere", "--json"
    ).json()
    assert result["accepted"] == 1 and result["rejected"] == 0
    assert {w["field"] for w in result["warnings"]} == {"opted_out_at", "opt_out_source"}
    shown = cli("contacts", "show", "0612345601", "--advertiser", "maison-lumiere", "--json").json()
    assert shown["standing"]["commercial"]["reason"] == "opted_out"


def test_export_carries_opt_outs_known_only_to_the_suppression_list(
    cli: Cli, tmp_path: Path
) -> None:
    cli.advertiser()
    cli.advertiser("copie")
    cli("optout", "add", "06 59 00 00 01", "--advertiser", "maison-lumiere", "--source", "sms_stop")
    path = write_csv(
        tmp_path / "c.csv", [{"phone": "0659000001", "consent": "yes", "consent_at": "2024-01-01"}]
    )
    cli("contacts", "import", str(path), "--advertiser", "maison-lumiere")
    exported = cli("contacts", "export", "--advertiser", "maison-lumiere").out
    row = next(csv.DictReader(io.StringIO(exported)))
    assert (row["opted_out"], row["opt_out_source"]) == ("yes", "sms_stop")
    (tmp_path / "e.csv").write_text(exported, encoding="utf-8")
    cli("contacts", "import", str(tmp_path / "e.csv"), "--advertiser", "copie")
    copied = cli("contacts", "show", "0659000001", "--advertiser", "copie", "--json").json()
    assert copied["standing"]["commercial"]["reason"] == "opted_out"


def test_round_trip_of_several_purchases_adds_nothing(cli: Cli, tmp_path: Path) -> None:
    cli.advertiser()
    for when, what in (("2024-01-01", "chaussures"), ("2025-01-01", "sacs")):
        path = write_csv(
            tmp_path / f"{when}.csv",
            [{"phone": "0660000001", "last_purchase_at": when, "purchased_categories": what}],
        )
        cli("contacts", "import", str(path), "--advertiser", "maison-lumiere")
    (tmp_path / "e.csv").write_text(
        cli("contacts", "export", "--advertiser", "maison-lumiere").out, encoding="utf-8"
    )
    again = cli(
        "contacts", "import", str(tmp_path / "e.csv"), "--advertiser", "maison-lumiere", "--json"
    ).json()
    assert again["evidence_added"] == 0 and again["unchanged"] == 1


def test_export_merges_personalization_columns_that_differ_by_case(
    cli: Cli, tmp_path: Path
) -> None:
    cli.advertiser()
    cli(
        "contacts",
        "import",
        str(write_csv(tmp_path / "a.csv", [{"phone": "0611000001", "Ville": "Paris"}])),
        "--advertiser",
        "maison-lumiere",
    )
    cli(
        "contacts",
        "import",
        str(write_csv(tmp_path / "b.csv", [{"phone": "0611000002", "ville": "Lyon"}])),
        "--advertiser",
        "maison-lumiere",
    )
    exported = cli("contacts", "export", "--advertiser", "maison-lumiere").out
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [r["Ville"] for r in rows] == ["Paris", "Lyon"]
    (tmp_path / "e.csv").write_text(exported, encoding="utf-8")
    again = cli(
        "contacts", "import", str(tmp_path / "e.csv"), "--advertiser", "maison-lumiere", "--json"
    ).json()
    assert again["rejected"] == 0


def test_a_phone_number_after_an_underscore_is_masked_too(cli: Cli, tmp_path: Path) -> None:
    cli.advertiser()
    path = write_csv(tmp_path / "relance_0612345678.csv", [{"phone": "0612345679"}])
    cli("contacts", "import", str(path), "--advertiser", "maison-lumiere")
    assert cli("audit", "list", "--json").json()[0]["details"]["file"] == "relance_[phone].csv"


def test_the_rejects_file_cannot_be_the_input(cli: Cli, tmp_path: Path) -> None:
    cli.advertiser()
    path = write_csv(tmp_path / "c.csv", [{"phone": "0612"}])
    result = cli(
        "contacts",
        "import",
        str(path),
        "--advertiser",
        "maison-lumiere",
        "--rejects",
        str(path),
        ok=False,
    )
    assert result.code == 2 and "being imported" in result.err and path.exists()
    missing = cli(
        "contacts",
        "import",
        str(path),
        "--advertiser",
        "maison-lumiere",
        "--rejects",
        str(tmp_path / "no" / "r.csv"),
        ok=False,
    )
    assert missing.code == 2 and "does not exist" in missing.err


def test_refusals_instead_of_tracebacks(cli: Cli) -> None:
    phone_category = cli(
        "advertiser", "create", "acme", "--name", "Acme SA", "--sender", "ACME",
        "--stop-number", "36111", "--categories", "promo 06 12 34 56 78", ok=False,
    )  # fmt: skip
    assert phone_category.code == 2 and "phone number" in phone_category.err
    bogus = Cli("bogus")("advertiser", "list", ok=False)
    assert bogus.code == 2 and "TAMBOUR_DATABASE_URL" in bogus.err


def test_a_partial_file_erases_nothing_it_does_not_state(cli: Cli, tmp_path: Path) -> None:
    cli.advertiser()
    full = {
        "phone": "0622000001", "kind": "professional", "profession_tags": "architecture",
        "postal_code": "67000", "first_name": "Paul", "ville": "Strasbourg",
    }  # fmt: skip
    cli(
        "contacts",
        "import",
        str(write_csv(tmp_path / "a.csv", [full])),
        "--advertiser",
        "maison-lumiere",
    )
    partial = write_csv(
        tmp_path / "b.csv",
        [{"phone": "0622000001", "last_activity_at": "2026-01-05", "code": "X1"}],
    )
    summary = cli(
        "contacts", "import", str(partial), "--advertiser", "maison-lumiere", "--json"
    ).json()
    assert summary["updated"] == 1
    contact = cli(
        "contacts", "show", "0622000001", "--advertiser", "maison-lumiere", "--json"
    ).json()["contact"]
    assert contact["kind"] == "professional" and contact["profession_tags"] == ["architecture"]
    assert contact["postal_code"] == "67000" and contact["first_name"] == "Paul"
    assert contact["fields"] == {"ville": "Strasbourg", "code": "X1"}
    again = cli(
        "contacts", "import", str(partial), "--advertiser", "maison-lumiere", "--json"
    ).json()
    assert again["unchanged"] == 1


def test_consent_no_without_a_date_withdraws_a_recorded_consent(cli: Cli, tmp_path: Path) -> None:
    cli.advertiser()
    given = write_csv(
        tmp_path / "a.csv",
        [
            {
                "phone": "0661000001",
                "consent": "yes",
                "consent_at": "2024-01-01",
                "consent_method": "web_form",
            }
        ],
    )
    cli("contacts", "import", str(given), "--advertiser", "maison-lumiere")
    withdrawn = write_csv(tmp_path / "b.csv", [{"phone": "0661000001", "consent": "no"}])
    assert (
        cli(
            "contacts", "import", str(withdrawn), "--advertiser", "maison-lumiere", "--json"
        ).json()["updated"]
        == 1
    )
    shown = cli("contacts", "show", "0661000001", "--advertiser", "maison-lumiere", "--json").json()
    assert shown["standing"]["commercial"]["reason"] == "opted_out"
    # A new consent recorded after it lifts it.
    again = write_csv(
        tmp_path / "c.csv",
        [
            {
                "phone": "0661000001",
                "consent": "yes",
                "consent_at": "2026-06-01",
                "consent_method": "web_form",
            }
        ],
    )
    cli("contacts", "import", str(again), "--advertiser", "maison-lumiere")
    shown = cli("contacts", "show", "0661000001", "--advertiser", "maison-lumiere", "--json").json()
    assert shown["standing"]["commercial"]["basis"] == "consent"


def test_consent_no_of_someone_who_never_consented_is_not_an_objection(
    cli: Cli, tmp_path: Path
) -> None:
    cli.advertiser()
    customer = {
        "phone": "0661000002", "consent": "non", "collected_at": "2026-01-01",
        "informed_at_collection": "oui", "objection_offered_at_collection": "oui",
        "last_purchase_at": "2026-02-01", "purchased_categories": "luminaires",
    }  # fmt: skip
    cli(
        "contacts",
        "import",
        str(write_csv(tmp_path / "a.csv", [customer])),
        "--advertiser",
        "maison-lumiere",
    )
    shown = cli("contacts", "show", "0661000002", "--advertiser", "maison-lumiere", "--json").json()
    assert shown["standing"]["commercial"]["basis"] == "existing_customer"


def test_a_fact_dated_in_the_future_rejects_its_row(cli: Cli, tmp_path: Path) -> None:
    cli.advertiser()
    path = write_csv(tmp_path / "f.csv", [
        {"phone": "0661000003", "last_activity_at": "2099-01-01"},
        {"phone": "0661000004", "last_activity_at": "2026-01-01"},
    ])  # fmt: skip
    summary = cli(
        "contacts", "import", str(path), "--advertiser", "maison-lumiere", "--json"
    ).json()
    assert summary["created"] == 1 and summary["rejected"] == 1
    rejects = (tmp_path / "f.rejects.csv").read_text(encoding="utf-8-sig")
    assert "last_activity_at" in rejects and "in the future" in rejects
