"""Issue 17, point 4: A/B tests, on SQLite and PostgreSQL. A campaign of two to four texts:
each checked by the core on its own, a share of the audience drawn at random for the variants,
the rest held until the winner (by clicks or by opt-outs) is chosen after the test's time, then
sent the winner's text; every recipient decided by the one plan, and the proof still whole."""

import asyncio
import json
import re
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text, update

from tambour.rules.codes import OptOutSource
from tambour.services import ab_tests, optouts, webhooks
from tambour.services import clicks as click_service
from tambour.services.context import ConflictError, Context
from tambour.sms.text import count_text
from tambour.store.tables import audit_log, message_links, outbox, plan_rows, webhook_events
from tests.dispatch_setup import (
    SENDER,
    context,
    ensure_advertiser,
    launched_campaign,
    mobile,
    paris,
    write_contacts,
)
from tests.integration.cli import Cli
from tests.integration.smpp_peers import running_smsc
from tests.integration.test_worker import Clock, received, worker

NOW = "2026-11-30T09:00:00+01:00"  # a Monday morning in Paris
MONDAY_10 = paris("2026-11-30T10:00")
A = "Maison Lumière : -20% sur les luminaires, {first_name|}"
B = "Maison Lumière : -30% sur les lampes cette semaine, {first_name|}"
C = "Maison Lumière : une lampe offerte pour deux achetées, {first_name|}"
TARGET = "https://maisonlumiere.fr/soldes"
BROWSER = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/126.0 Mobile"
SHORT = re.compile(r"https?://\S+/s/[0-9A-Za-z]{7}")


@pytest.fixture
def cli(db_url: str, tmp_path: Path) -> Cli:
    """An advertiser with 200 consenting contacts, on a Monday morning."""
    cli = Cli(db_url)
    cli.env["TAMBOUR_NOW"] = NOW
    cli.advertiser("maison-lumiere")
    path = write_contacts(tmp_path / "contacts.csv", [mobile(i) for i in range(200)])
    cli("contacts", "import", str(path), "--advertiser", "maison-lumiere")
    return cli


def create(cli: Cli, name: str, *options: str, ok: bool = True) -> Any:
    args = ("campaign", "create", "--advertiser", "maison-lumiere", "--name", name,
            "--nature", "commercial", "--sender", SENDER, *options, "--json")  # fmt: skip
    return cli.blocked_or_not(*args) if ok else cli(*args, ok=False)


def plan_rows_of(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(plan_rows).where(plan_rows.c.decision == "send").order_by("contact_id")
            )
        )


def verified(cli: Cli) -> None:
    result = cli("audit", "verify", "--json").json()
    assert result["ok"] and result["row_problems"] == 0, result


def test_a_share_of_the_audience_tests_the_variants_and_the_rest_waits_for_the_winner(
    cli: Cli, engine: Engine
) -> None:
    created = create(
        cli, "Soldes", "--text", A, "--variant", B, "--variant", C, "--test-share", "30",
        "--winner-by", "optouts", "--test-hours", "2",
    )  # fmt: skip
    test = created["campaign"]["ab_test"]
    assert test["variants"] == [B, C] and test["test_share"] == 30
    assert test["winner_by"] == "optouts" and test["test_minutes"] == 120
    payload = cli.blocked_or_not("campaign", "plan", "Soldes", "--json")
    assert payload["blocks"] == []
    summary = payload["summary"]
    figures = summary["ab_test"]
    assert figures["variants"] == 3 and figures["test_share"] == 30
    tested = figures["test"]
    assert sum(tested.values()) + figures["rest"] == summary["send"] == 200
    # 30 % of 200 drawn at random: far from 0 and from all, each variant its share.
    assert 30 <= sum(tested.values()) <= 95 and all(n >= 5 for n in tested.values())
    rows = plan_rows_of(engine)
    by_group = Counter((row.ab_group, row.variant) for row in rows)
    assert by_group[("rest", None)] == figures["rest"]
    for label, words in (("A", "-20%"), ("B", "-30%"), ("C", "offerte")):
        mine = [row for row in rows if row.variant == label]
        assert len(mine) == tested[label] and all(row.ab_group == "test" for row in mine)
        assert all(words in row.text and row.text.endswith("STOP au 36111") for row in mine)
    # The rest has no text yet; its parts are counted at the longest variant, what it may cost.
    longest = max(count_text(t.replace("{first_name|}", "Léa0") + " STOP au 36111").segments
                  for t in (A, B, C))  # fmt: skip
    assert all(
        row.text is None and row.segments == longest for row in rows if row.ab_group == "rest"
    )
    draw = {row.contact_id: (row.ab_group, row.variant) for row in rows}
    cli.blocked_or_not("campaign", "plan", "Soldes", "--json")
    assert {row.contact_id: (row.ab_group, row.variant) for row in plan_rows_of(engine)} == draw
    verified(cli)  # the variant and group are sealed with the row
    with engine.begin() as conn:  # moving a recipient into another variant is seen
        row = next(r for r in rows if r.variant == "A")
        conn.execute(
            update(plan_rows).where(plan_rows.c.contact_id == row.contact_id).values(variant="B")
        )
    tampered = cli("audit", "verify", "--json", ok=False).json()
    assert not tampered["ok"] and tampered["rows_changed"][0]["table"] == "plan_rows"

    launched = cli("campaign", "launch", "Soldes", "--json").json()
    assert launched["queued"] == sum(tested.values()) and launched["held"] == figures["rest"]


def test_each_variant_is_checked_on_its_own_and_a_malformed_test_is_refused(cli: Cli) -> None:
    blocked = create(cli, "Trou", "--text", A, "--variant", "Maison Lumière : {code_promo}")
    planned = cli.blocked_or_not("campaign", "plan", "Trou", "--json")
    assert blocked["blocks"] == []  # a placeholder is known to be empty only at plan
    assert planned["blocks"] == ["unresolved_placeholder"]
    assert "{code_promo}" in planned["block_details"][0]["message"]
    transactional = create(
        cli, "Promo", "--text", A, "--variant", "Votre commande {commande} : -50% avec PROMO50",
        "--nature", "transactional", "--transaction-field", "commande",
    )  # fmt: skip
    codes = [b["code"] for b in transactional["blocks"]]
    assert "promotional_content" in codes
    assert any(b["message"].startswith("variant B: ") for b in transactional["blocks"])

    def refused(*options: str) -> str:
        result = create(cli, "Refus", "--text", A, *options, ok=False)
        assert result.code == 2, result.out
        return result.err

    linked = f"Maison Lumière : -20% {{link:{TARGET}}}"
    assert "--variant" in refused("--variant", "Maison Lumière : -30% {link:https://a.fr/x}")
    assert "--variant" in refused("--variant", A)  # the same text twice tests nothing
    assert "--test-share" in refused("--variant", B, "--test-share", "0")
    assert "--test-hours" in refused("--variant", B, "--test-hours", "400")
    assert "--winner-by" in refused("--variant", B, "--winner-by", "clicks")  # no short link
    assert "--winner-by" in refused("--variant", B, "--winner-by", "likes")
    assert "--test-share" in refused("--test-share", "20")  # settings without variants
    assert "--variant" in refused(
        *(x for t in (B, C, "D Maison Lumière", "E") for x in ("--variant", t))
    )
    defaults = create(cli, "Défauts", "--text", linked, "--variant", linked.replace("20", "30"))
    assert defaults["campaign"]["ab_test"]["winner_by"] == "clicks"  # the text has a link
    assert defaults["campaign"]["ab_test"]["test_share"] == 20
    assert defaults["campaign"]["ab_test"]["test_minutes"] == 240
    edited = cli.blocked_or_not("campaign", "edit", "Défauts", "--no-ab-test", "--json")
    assert edited["campaign"]["ab_test"] is None


def test_the_winner_by_optouts_is_sent_to_the_rest_by_the_worker_and_the_proof_holds(
    engine: Engine, tmp_path: Path, db_url: str
) -> None:
    numbers = [mobile(i) for i in range(120)]
    ensure_advertiser(engine, MONDAY_10)
    launched = launched_campaign(
        engine, tmp_path, numbers, now=MONDAY_10, text=A,
        ab={"variants": [B], "test_share": 50, "winner_by": "optouts", "test_minutes": 60},
    )  # fmt: skip
    assert launched.held > 0 and launched.queued + launched.held == 120
    with engine.connect() as conn:
        tested = dict(
            conn.execute(
                select(outbox.c.e164, outbox.c.variant).where(outbox.c.state == "queued")
            ).all()
        )
        rest = conn.execute(select(outbox.c.e164).where(outbox.c.state == "held")).scalars().all()
    assert set(tested.values()) == {"A", "B"} and len(rest) == launched.held

    async def send(clock: Clock) -> Counter[str]:
        async with running_smsc() as smsc:
            await worker(engine, smsc, clock).run(until_idle=True)
            return received(smsc)

    first = asyncio.run(send(Clock(MONDAY_10)))
    assert first == Counter(list(tested))  # only the test left; the rest is held, never claimed
    ctx = context(engine, MONDAY_10 + timedelta(minutes=30))
    a_numbers = sorted(n for n, v in tested.items() if v == "A")
    for number in a_numbers[:2]:  # two of A's recipients answer STOP
        optouts.add(ctx, slug="maison-lumiere", number=number, source=OptOutSource.SMS_STOP)
    gone = sorted(rest)[0]  # one of the rest opts out before the winner is chosen
    optouts.add(ctx, slug="maison-lumiere", number=gone, source=OptOutSource.SMS_STOP)
    found = ab_tests.report(ctx, name="soldes")
    figures = {v.label: v for v in found.variants}
    assert figures["A"].opted_out == 2 and figures["B"].opted_out == 0
    assert figures["A"].sent + figures["B"].sent == len(tested) and found.leading == "B"
    with pytest.raises(ConflictError) as running:
        ab_tests.choose(ctx, name="soldes")
    assert running.value.code == "test_running"
    assert ab_tests.choose_due(ctx) == []  # not over yet

    over = context(engine, MONDAY_10 + timedelta(minutes=61))
    webhooks.create_endpoint(
        over, advertiser="maison-lumiere", url="https://hooks.example.fr/t",
        events=["campaign.winner_chosen"], allow_private=True,
    )  # fmt: skip
    (chosen,) = ab_tests.choose_due(over)
    assert chosen.winner == "B" and chosen.by == "optouts" and chosen.measured
    assert chosen.released == len(rest) and chosen.cancelled == 0
    assert ab_tests.choose_due(over) == []  # once
    with engine.connect() as conn:
        messages = {
            row.e164: row for row in conn.execute(select(outbox).where(outbox.c.e164.in_(rest)))
        }
        plans = {row.e164: row for row in conn.execute(select(plan_rows))}
        chosen_events = (
            conn.execute(
                select(webhook_events.c.body).where(
                    webhook_events.c.type == "campaign.winner_chosen"
                )
            )
            .scalars()
            .all()
        )
    for number in rest:
        message, planned = messages[number], plans[number]
        assert message.state == "queued" and message.variant is None
        assert "-30%" in message.text and message.text == planned.text
        assert planned.variant == "B" and planned.ab_group == "rest"
        assert message.parts == planned.segments == count_text(message.text).segments
    (event,) = [json.loads(body) for body in chosen_events]
    assert event["data"]["winner"] == "B" and event["data"]["by"] == "optouts"
    cli = Cli(db_url)
    verified(cli)  # the rest's rows written again are accounted for by the audit log

    second = asyncio.run(send(Clock(MONDAY_10 + timedelta(minutes=62))))
    assert second == Counter(n for n in rest if n != gone)  # the STOP holds
    with engine.connect() as conn:
        assert conn.execute(
            select(outbox.c.state, outbox.c.reason).where(outbox.c.e164 == gone)
        ).one() == ("cancelled", "opted_out")
        actions = (
            conn.execute(select(audit_log.c.action).where(audit_log.c.action.like("campaign.%")))
            .scalars()
            .all()
        )
    assert {"campaign.winner", "campaign.rest_written", "campaign.rest_released"} <= set(actions)
    with pytest.raises(ConflictError) as twice:
        ab_tests.choose(over, name="soldes", variant="A")
    assert twice.value.code == "winner_chosen"
    verified(cli)


def test_the_winner_by_clicks_counts_peoples_clicks_only_and_can_be_chosen_sooner(
    cli: Cli, engine: Engine
) -> None:
    cli.env["TAMBOUR_PUBLIC_URL"] = "https://m.example.fr"
    linked = f"Maison Lumière : -20% {{link:{TARGET}}}"
    create(cli, "Liens", "--text", linked, "--variant", linked.replace("-20%", "-30%"),
           "--test-share", "40", "--test-hours", "3")  # fmt: skip
    cli.blocked_or_not("campaign", "plan", "Liens", "--json")
    cli("campaign", "launch", "Liens")
    sent = paris("2026-11-30T09:05")
    with engine.begin() as conn:
        conn.execute(
            update(outbox).where(outbox.c.state == "queued")
            .values(state="submitted", submitted_at=sent)
        )  # fmt: skip
        links = conn.execute(
            select(message_links, outbox.c.variant)
            .join(outbox, (outbox.c.contact_id == message_links.c.contact_id)
                  & (outbox.c.campaign_id == message_links.c.campaign_id))
            .where(message_links.c.kind == "go", outbox.c.variant.is_not(None))
        ).all()  # fmt: skip
    assert {link.variant for link in links} == {"A", "B"}
    assert all(link.variant_1 == link.variant for link in links)  # the link knows its variant
    clicks = []
    for link in links:
        target = click_service.LinkTarget(
            link.id, link.advertiser_id, link.campaign_id, link.contact_id, TARGET,
            link.territory, link.variant,
        )  # fmt: skip
        # A's recipients have link scanners (within a second of the send); B's, two people.
        if link.variant == "A":
            clicks.append(click_service.Click(target, sent, None, BROWSER, None))
        elif sum(1 for c in clicks if c.link.variant == "B") < 2:
            clicks.append(click_service.Click(target, sent + timedelta(minutes=9), None,
                                              BROWSER, None))  # fmt: skip
    with engine.begin() as conn:
        assert click_service.write_clicks(conn, clicks, sent + timedelta(minutes=10), None) == 2
    found = cli("campaign", "ab", "Liens", "--json").json()
    figures = {v["label"]: v for v in found["variants"]}
    assert figures["A"]["clicked"] == 0 and figures["B"]["clicked"] == 2
    assert found["leading"] == "B" and found["winner"] is None
    said = cli("campaign", "winner", "Liens", ok=False)
    assert said.code != 0 and "--variant" in said.err  # the test runs until its time
    # The marketer ends it sooner, naming A against the figures: their call, audited as such.
    done = cli("campaign", "winner", "Liens", "--variant", "a", "--json").json()
    assert done["winner"] == "A" and done["by"] == "hand" and done["released"] > 0
    with engine.connect() as conn:
        rest = conn.execute(
            select(outbox.c.text, outbox.c.contact_id).where(
                outbox.c.variant.is_(None), outbox.c.state == "queued"
            )
        ).all()
        rest_links = conn.execute(
            select(func.count()).select_from(message_links).where(message_links.c.variant == "A")
        ).scalar_one()
    assert len(rest) == done["released"]
    shorts = [SHORT.findall(row.text) for row in rest]
    assert all("-20%" in row.text for row in rest) and all(len(s) == 1 for s in shorts)
    assert len({s[0] for s in shorts}) == len(rest)  # each its own link, made at plan time
    assert rest_links == len(rest) + sum(1 for link in links if link.variant == "A")
    verified(cli)


def test_a_test_without_a_message_sent_keeps_a_and_a_cancelled_campaign_has_no_winner(
    cli: Cli, engine: Engine
) -> None:
    create(cli, "Vide", "--text", A, "--variant", B, "--test-hours", "1")
    cli.blocked_or_not("campaign", "plan", "Vide", "--json")
    cli("campaign", "launch", "Vide")
    later = Context(engine, actor="test", clock=lambda: paris("2026-11-30T11:00"))
    cli.env["TAMBOUR_NOW"] = "2026-11-30T09:30:00+01:00"
    cli("jobs", "run", "--until-idle")  # launched at 9:00 for an hour: the runner leaves it
    assert cli("campaign", "ab", "Vide", "--json").json()["winner"] is None
    cli.env["TAMBOUR_NOW"] = "2026-11-30T11:00:00+01:00"
    cli("jobs", "run", "--until-idle")  # over: the job runner chooses by itself
    found = cli("campaign", "ab", "Vide", "--json").json()
    assert found["winner"] == "A" and found["rest_held"] == 0  # nothing to compare: A kept
    with engine.connect() as conn:
        (said,) = (
            conn.execute(select(audit_log.c.details).where(audit_log.c.action == "campaign.winner"))
            .scalars()
            .all()
        )
    said = said if isinstance(said, dict) else json.loads(said)
    assert said["measured"] is False and said["by"] == "optouts"
    cli.env["TAMBOUR_NOW"] = NOW
    create(cli, "Annulée", "--text", A, "--variant", B, "--test-hours", "1")
    cli.blocked_or_not("campaign", "plan", "Annulée", "--json")
    cli("campaign", "launch", "Annulée")
    cancelled = cli("campaign", "cancel", "Annulée", "--json").json()
    assert cancelled["withdrawn"] > 0
    with engine.connect() as conn:
        held = conn.execute(
            text("SELECT count(*) FROM outbox o JOIN campaigns c ON c.id = o.campaign_id "
                 "WHERE c.name = 'Annulée' AND o.state = 'held'")
        ).scalar_one()  # fmt: skip
    assert held == 0  # withdrawn with the queued
    assert ab_tests.choose_due(later) == []
    refused = cli("campaign", "winner", "Annulée", "--variant", "B", ok=False)
    assert refused.code != 0 and "cancelled" in refused.err
    assert cli("campaign", "ab", "Annulée", "--json").json()["winner"] is None


def test_an_unknown_variant_and_a_campaign_without_a_test_are_refused(cli: Cli) -> None:
    create(cli, "Simple", "--text", A)
    result = cli("campaign", "ab", "Simple", ok=False)
    assert result.code != 0 and "no A/B test" in result.err
    create(cli, "Deux", "--text", A, "--variant", B)
    cli.blocked_or_not("campaign", "plan", "Deux", "--json")
    cli("campaign", "launch", "Deux")
    bad = cli("campaign", "winner", "Deux", "--variant", "D", ok=False)
    assert bad.code == 2 and "--variant" in bad.err and "A, B" in bad.err
