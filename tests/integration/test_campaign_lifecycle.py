"""Issue 13 point 3 through the command line, on SQLite and PostgreSQL: a campaign can be
fixed (`campaign edit`) and removed (`campaign delete`) before it leaves, a block stops a
script (exit 3, with what to change), and dates are given as files give them."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from tambour.services import campaign_edit, planner
from tambour.services.context import Context, ServiceError
from tambour.store.tables import audit_log, campaigns, plan_rows
from tests.integration.cli import Cli
from tests.integration.test_campaigns import GOOD_FRIDAY, NOW, TEXT, by_phone, create, plan
from tests.integration.test_contacts import sample_file


@pytest.fixture
def ledger(db_url: str, tmp_path: Path) -> Cli:
    """The sample advertiser and its sample file, the clock fixed a week before spring."""
    cli = Cli(db_url)
    cli.env["TAMBOUR_NOW"] = NOW
    cli.advertiser()
    cli("contacts", "import", str(sample_file(tmp_path)), "--advertiser", "maison-lumiere")
    return cli


def audited(engine: Engine, action: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        found = conn.execute(
            select(audit_log.c.details)
            .where(audit_log.c.action == action)
            .order_by(audit_log.c.seq)
        ).scalars()
        return [d if isinstance(d, dict) else json.loads(d) for d in found]


def verified(cli: Cli) -> dict[str, Any]:
    result: dict[str, Any] = cli("audit", "verify", "--json").json()
    assert result["ok"] and result["row_problems"] == 0, result
    return result


def status(cli: Cli, name: str) -> dict[str, Any]:
    found: dict[str, Any] = cli("campaign", "status", name, "--json").json()
    return found


# --- edit -------------------------------------------------------------------------------------


def test_editing_a_planned_campaign_drops_its_plan_and_is_audited(
    ledger: Cli, engine: Engine
) -> None:
    create(ledger, "Printemps", categories="luminaires")
    first = plan(ledger, "Printemps")
    assert first["summary"]["send"] > 0 and status(ledger, "Printemps")["status"] == "planned"
    new_text = TEXT.replace("-20%", "-30%")
    edited = ledger.blocked_or_not(
        "campaign", "edit", "Printemps", "--text", new_text, "--tags", "newsletter", "--json"
    )
    assert edited["campaign"]["text"] == new_text and edited["campaign"]["tags"] == ["newsletter"]
    assert edited["campaign"]["status"] == "draft" and edited["blocks"] == []
    assert status(ledger, "Printemps")["plan"] is None  # the old plan is gone, not launchable
    with engine.connect() as conn:
        assert conn.execute(select(plan_rows.c.campaign_id)).first() is None
    refused = ledger("campaign", "launch", "Printemps", ok=False)
    assert refused.code == 2 and "has no plan yet" in refused.err
    (entry,) = audited(engine, "campaign.edit")
    assert entry["changed"] == ["text", "tags"] and entry["tags"] == ["newsletter"]
    assert entry["plan_rows_removed"] == first["summary"]["targeted"]
    assert "text" not in entry and len(entry["text_sha256"]) == 64
    verified(ledger)  # the dropped rows are accounted for: nothing reported removed
    again = plan(ledger, "Printemps")
    sent = [row["text"] for row in again["rows"] if row["decision"] == "send"]
    assert sent and all("-30%" in text and "-20%" not in text for text in sent)
    assert again["summary"]["targeted"] < first["summary"]["targeted"]  # only the newsletter tag
    ledger("campaign", "launch", "Printemps")
    verified(ledger)


def test_an_edit_to_a_block_exits_3_and_says_what_to_change(ledger: Cli) -> None:
    create(ledger, "Printemps", categories="luminaires")
    result = ledger("campaign", "edit", "Printemps", "--nature", "non_commercial", ok=False)
    assert result.code == 3
    assert "promotional_content" in result.out and "non_commercial_unrecorded" in result.out
    assert "to fix: a promotion is commercial: tambour campaign edit Printemps" in result.out
    assert "advertiser update SLUG --non-commercial-id" in result.out
    assert status(ledger, "Printemps")["nature"] == "non_commercial"  # edited all the same


def test_edit_refusals(ledger: Cli) -> None:
    create(ledger, "Printemps", categories="luminaires")
    nothing = ledger("campaign", "edit", "Printemps", ok=False)
    assert nothing.code == 2 and "nothing to change" in nothing.err
    same = ledger("campaign", "edit", "Printemps", "--text", TEXT, ok=False)
    assert same.code == 2 and "nothing changed" in same.err
    bad = ledger("campaign", "edit", "Printemps", "--sender", "AUTRE", ok=False)
    assert bad.code == 2 and "--sender: 'AUTRE' is not a sender ID" in bad.err
    late = ledger("campaign", "edit", "Printemps", "--send-by", "01/03/2027 10:00", ok=False)
    assert late.code == 2 and "is already past" in late.err
    unknown = ledger("campaign", "edit", "Automne", "--text", "x", ok=False)
    assert unknown.code == 2 and "no campaign 'Automne'" in unknown.err
    plan(ledger, "Printemps")
    ledger("campaign", "launch", "Printemps")
    launched = ledger("campaign", "edit", "Printemps", "--text", TEXT + " !", ok=False)
    assert launched.code == 2 and "was launched: it cannot be edited" in launched.err
    assert "Traceback" not in launched.err + launched.out


def test_schedule_edits_take_french_dates_in_paris_time_and_can_be_cleared(ledger: Cli) -> None:
    create(ledger, "Printemps", categories="luminaires")
    edited = ledger.blocked_or_not(
        "campaign", "edit", "Printemps", "--start", "29/03/2027 10:00",
        "--send-by", "30/03/2027 18:30", "--json",
    )  # fmt: skip
    assert edited["campaign"]["start"] == "2027-03-29T08:00:00+00:00"  # summer time in Paris
    assert edited["campaign"]["send_by"] == "2027-03-30T16:30:00+00:00"
    rows = by_phone(plan(ledger, "Printemps"))
    sent = [r for r in rows.values() if r["decision"] == "send"]
    assert sent and all(r["send_at"] >= "2027-03-29" for r in sent)
    cleared = ledger.blocked_or_not(
        "campaign", "edit", "Printemps", "--start", "now", "--send-by", "none", "--json"
    )
    assert cleared["campaign"]["start"] is None and cleared["campaign"]["send_by"] is None


def test_create_takes_a_french_date(ledger: Cli) -> None:
    created = create(ledger, "Printemps", start="26/03/2027 10:00", categories="luminaires")
    assert created["campaign"]["start"] == "2027-03-26T09:00:00+00:00"  # winter time


def test_a_plan_made_while_the_campaign_is_edited_is_discarded(ledger: Cli, engine: Engine) -> None:
    """The plan read the old text; the edit lands while it runs: it must not become current."""
    create(ledger, "Printemps", categories="luminaires")
    ctx = Context(engine, "test:alice", lambda: datetime.fromisoformat(NOW).astimezone(UTC))
    edited: list[str] = []

    def edit_meanwhile(_rows: int) -> None:
        if not edited:
            done = campaign_edit.edit(
                ctx, name="Printemps", changes=campaign_edit.Changes(text=TEXT + " Nouveau")
            )
            edited.extend(done.changed)

    with pytest.raises(ServiceError, match="this plan is discarded"):
        planner.plan(ctx, name="Printemps", workers=0, progress=edit_meanwhile)
    assert edited == ["text"]
    with engine.connect() as conn:
        row = conn.execute(select(campaigns.c.status, campaigns.c.plan_generation)).one()
        assert tuple(row) == ("draft", None)
        assert conn.execute(select(plan_rows.c.campaign_id)).first() is None
    verified(ledger)


# --- delete -----------------------------------------------------------------------------------


def test_deleting_a_planned_campaign_frees_its_name_and_keeps_the_proof(
    ledger: Cli, engine: Engine
) -> None:
    create(ledger, "Printemps", categories="luminaires")
    planned = plan(ledger, "Printemps")
    with engine.connect() as conn:
        old_id = conn.execute(select(campaigns.c.id)).scalar_one()
    deleted = ledger("campaign", "delete", "Printemps", "--json").json()
    assert deleted == {"name": "Printemps", "advertiser": "maison-lumiere", "was": "planned",
                       "plan_rows": planned["summary"]["targeted"]}  # fmt: skip
    assert ledger("campaign", "list", "--json").json() == []
    (entry,) = audited(engine, "campaign.delete")
    assert entry["campaign"] == "Printemps" and entry["campaign_id"] == old_id
    assert entry["rows"] == {"plans_dropped": [old_id]}
    verified(ledger)
    create(ledger, "Printemps", categories="luminaires")  # the name is free again
    with engine.connect() as conn:
        new_id = conn.execute(select(campaigns.c.id)).scalar_one()
    assert new_id != old_id  # never an id the audit log gave another campaign
    plan(ledger, "Printemps")
    verified(ledger)
    text = ledger("campaign", "delete", "Printemps")
    assert text.out.startswith("deleted 'Printemps' of maison-lumiere (planned, ")


def test_a_launched_campaign_cannot_be_deleted(ledger: Cli) -> None:
    create(ledger, "Printemps", categories="luminaires")
    plan(ledger, "Printemps")
    ledger("campaign", "launch", "Printemps")
    refused = ledger("campaign", "delete", "Printemps", ok=False)
    assert refused.code == 2 and "was launched: it cannot be deleted" in refused.err
    assert [c["name"] for c in ledger("campaign", "list", "--json").json()] == ["Printemps"]


def test_a_plan_dropped_outside_tambour_is_still_named(ledger: Cli, engine: Engine) -> None:
    """Only Tambour's own edit and delete account for a plan that is gone."""
    create(ledger, "Printemps", categories="luminaires")
    plan(ledger, "Printemps")
    with engine.begin() as conn:
        conn.execute(update(campaigns).values(plan_generation=None, status="draft"))
    result = ledger("audit", "verify", "--json", ok=False).json()
    assert not result["ok"]
    assert any(
        c["table"] == "campaigns" and c["problem"] == "edited" for c in result["rows_changed"]
    )


# --- blocks stop scripts ----------------------------------------------------------------------


def test_create_with_a_block_exits_3_naming_it_and_the_fix(ledger: Cli, tmp_path: Path) -> None:
    result = ledger(
        "campaign", "create", "--advertiser", "maison-lumiere", "--name", "Sans stop",
        "--nature", "non_commercial", "--sender", "MLUMIERE", "--start", GOOD_FRIDAY,
        "--text", TEXT, ok=False,
    )  # fmt: skip
    assert result.code == 3
    assert "BLOCKED" in result.out and "promotional_content" in result.out
    assert "to fix: a promotion is commercial" in result.out
    assert "campaign edit 'Sans stop' --nature commercial" in result.out  # quoted for a shell
    assert "next: tambour campaign plan" not in result.out
    # Created all the same: the marketer fixes it rather than starting again.
    assert [c["name"] for c in ledger("campaign", "list", "--json").json()] == ["Sans stop"]
    fixed = ledger.blocked_or_not(
        "campaign", "edit", "Sans stop", "--nature", "commercial", "--json"
    )  # fmt: skip
    assert fixed["blocks"] == []
