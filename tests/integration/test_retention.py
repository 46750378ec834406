"""Issue 18 point 2, the retention run, on SQLite and PostgreSQL, through the command line and
the job runners' daily upkeep: on a clock moved forward, exactly the contacts whose data lapsed
are erased (a contact named by an open data request waits), message and reply texts past their
period go, the proof still verifies, and `--dry-run` changes nothing.

The data: test_data_requests' two advertisers with the same six numbers, a campaign each
launched and dispatched on 2026-12-01, the consents given on 2026-10-01 (they lapse on
2029-10-01), a STOP from STOPPED to Maison Lumière."""

import json
from pathlib import Path

from sqlalchemy import Engine, select

from tambour.store.tables import audit_log, campaigns, contacts, outbox, plan_rows, replies
from tests.integration.cli import Cli
from tests.integration.test_contacts import write_csv
from tests.integration.test_data_requests import _everything, _found, add, both
from tests.integration.test_export_proof import (
    CAVE,
    CONSENT,
    DELIVERED,
    LUMIERE,
    MARTINIQUE,
    NO_BASIS,
    REFUSED,
    STOPPED,
    TEXT,
    cli,
    contacts_file,
)

__all__ = ["both", "cli"]  # fixtures

LATER = "2029-11-01T12:00:00+01:00"  # the consents of 2026-10-01 lapsed a month ago


def erased(engine: Engine) -> dict[str, set[int]]:
    """The ids of the erased contacts, by advertiser slug."""
    from tambour.store.tables import advertisers

    with engine.connect() as conn:
        rows = conn.execute(
            select(advertisers.c.slug, contacts.c.id)
            .join(advertisers, advertisers.c.id == contacts.c.advertiser_id)
            .where(contacts.c.erased_at.is_not(None))
        ).all()
    found: dict[str, set[int]] = {}
    for slug, contact_id in rows:
        found.setdefault(slug, set()).add(contact_id)
    return found


def numbers(engine: Engine) -> dict[str, set[str]]:
    """The numbers still held, by advertiser id."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(contacts.c.advertiser_id, contacts.c.e164).where(contacts.c.e164.is_not(None))
        ).all()
    found: dict[str, set[str]] = {}
    for owner, e164 in rows:
        found.setdefault(str(owner), set()).add(e164)
    return found


def test_the_run_erases_exactly_the_lapsed_contacts(
    both: Cli, engine: Engine, tmp_path: Path
) -> None:
    cli = both
    # The next day, each campaign cancelled: Hélène's message, held until 08:00 in
    # Martinique, is withdrawn (a campaign's texts go a year after it is over).
    cli.env["TAMBOUR_NOW"] = "2026-12-02T09:00:00+01:00"
    for slug, name in ((LUMIERE, "Noël"), (CAVE, "Vendanges")):
        cli("campaign", "cancel", name, "--advertiser", slug)
    # A new fact keeps Léa at Maison Lumière (an activity in 2028), not at Cave Dupont.
    cli.env["TAMBOUR_NOW"] = "2028-06-01T12:00:00+02:00"
    active = write_csv(
        tmp_path / "active.csv", [{"phone": DELIVERED, "last_activity_at": "2028-06-01"}]
    )
    cli("contacts", "import", str(active), "--advertiser", LUMIERE)
    cli.env["TAMBOUR_NOW"] = LATER
    waiting = add(cli, REFUSED, "access")  # Jean's data waits for the answer
    held = numbers(engine)
    lumiere, cave = sorted(held)  # advertiser ids: Maison Lumière was created first
    everything = _everything(engine)

    dry = cli("retention", "run", "--dry-run", "--json").json()
    assert _everything(engine) == everything  # nothing changed
    by_slug = {a["advertiser"]: a for a in dry["advertisers"]}
    assert (by_slug[LUMIERE]["contacts_erased"], by_slug[LUMIERE]["contacts_waiting"]) == (3, 1)
    assert (by_slug[CAVE]["contacts_erased"], by_slug[CAVE]["contacts_waiting"]) == (5, 0)
    assert by_slug[LUMIERE]["campaigns"] == 1 and by_slug[LUMIERE]["replies"] == 1

    done = cli("retention", "run", "--json").json()
    assert [(a["contacts_erased"], a["contacts_waiting"]) for a in done["advertisers"]] == [
        (3, 1),
        (5, 0),
    ]
    # Exactly the lapsed: Léa (active) and Jean (waiting) stay at Maison Lumière, Marie
    # (first seen 2026-12-01, no fact since: lapses on 2029-12-01) stays at both.
    left = numbers(engine)
    assert left[lumiere] == {DELIVERED, REFUSED, NO_BASIS}
    assert left[cave] == {NO_BASIS}
    for number, name in ((STOPPED, "Zoé"), (MARTINIQUE, "Hélène")):
        assert _found(engine, number, name) == [], number
    # Texts past a year: the messages' and plan rows' texts, the replies'; the campaign's
    # template stays. Erased contacts' messages were blanked with them.
    with engine.connect() as conn:
        assert set(conn.execute(select(outbox.c.text)).scalars()) == {""}
        assert set(conn.execute(select(plan_rows.c.text)).scalars()) == {None}
        assert set(conn.execute(select(replies.c.text)).scalars()) == {""}
        assert set(conn.execute(select(campaigns.c.text)).scalars()) == {TEXT}
        assert all(conn.execute(select(campaigns.c.texts_erased_at)).scalars())
        actions = list(conn.execute(select(audit_log.c.action)).scalars())
    assert actions.count("retention.run") == 1
    assert actions.count("retention.contacts_erased") == 2  # a chunk of each advertiser
    assert "ledger intact: every row sealed" in cli("audit", "verify").out
    # Objections stay on the suppression list; a lapsed contact objected to nothing.
    for number, opted_out in ((STOPPED, True), (MARTINIQUE, False)):
        check = cli("optout", "check", number, "--advertiser", LUMIERE, "--json").json()
        assert check["opted_out"] is opted_out, number

    again = cli("retention", "run", "--json").json()
    assert again["advertisers"][0]["contacts_erased"] == 0
    assert again["advertisers"][0]["message_texts"] == 0
    # The request answered, Jean's data lapses on the next run.
    cli("requests", "refuse", str(waiting), "--advertiser", LUMIERE, "--reason", "doublon")
    last = cli("retention", "run", "--json").json()
    assert last["advertisers"][0]["contacts_erased"] == 1
    assert numbers(engine)[lumiere] == {DELIVERED, NO_BASIS}
    # The old file imported again lapses by its own dates: no message.
    stale = write_csv(tmp_path / "stale.csv", [{"phone": MARTINIQUE, **CONSENT}])
    cli("contacts", "import", str(stale), "--advertiser", LUMIERE)
    cli("campaign", "create", "--advertiser", LUMIERE, "--name", "Soldes", "--nature=commercial",
        "--sender=MLUMIERE", "--text=Soldes d'hiver.", "--categories=luminaires",
        "--start=2029-11-06T10:00")  # fmt: skip
    plan = cli.blocked_or_not("campaign", "plan", "Soldes", "--advertiser", LUMIERE, "--json")
    rows = {row["phone"]: row for row in plan["rows"]}
    assert (rows[MARTINIQUE]["decision"], rows[MARTINIQUE]["reason"]) == (
        "exclude",
        "retention_expired",
    )
    assert "ledger intact: every row sealed" in cli("audit", "verify").out


def test_the_job_runners_run_it_once_a_day(cli: Cli, engine: Engine, tmp_path: Path) -> None:
    cli("contacts", "import", str(contacts_file(tmp_path, LUMIERE)), "--advertiser", LUMIERE)
    cli("jobs", "run", "--until-idle")  # in 2026: nothing lapsed
    assert erased(engine) == {}
    cli.env["TAMBOUR_NOW"] = LATER
    cli("jobs", "run", "--until-idle")
    assert len(erased(engine)[LUMIERE]) == 5  # every consent-only contact; Marie stays
    assert numbers(engine) and set(next(iter(numbers(engine).values()))) == {NO_BASIS}
    with engine.connect() as conn:
        runs = list(
            conn.execute(select(audit_log.c.details).where(audit_log.c.action == "retention.run"))
        )
    said = [json.loads(r.details) if isinstance(r.details, str) else r.details for r in runs]
    assert [d["counts"]["contacts_erased"] for d in said] == [0, 5]
