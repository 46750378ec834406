"""Issue 17, points 2 and 3, against a real `tambour serve`, on SQLite and PostgreSQL: the
one-click opt-out link (a GET changes nothing, the button's POST opts out at once, the next
campaign excludes the number) and short links (redirect, a person's click counted, a bot's,
a prefetch's and a HEAD's not; a click is never consent), retention, tenancy."""

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select, update

from tambour.services import clicks as click_service
from tambour.services import webhooks
from tambour.services.context import Context
from tambour.sms.text import count_text
from tambour.store.engine import make_engine
from tambour.store.tables import (
    audit_log,
    campaigns,
    evidence,
    link_clicks,
    message_links,
    outbox,
    suppressions,
    webhook_events,
)
from tests.integration.api_server import ApiServer, new_key
from tests.integration.cli import Cli
from tests.integration.test_campaigns import GOOD_FRIDAY, NOW
from tests.integration.test_contacts import sample_file

TARGET = "https://maisonlumiere.fr/printemps?utm=sms"
TEXT = (
    "Maison Lumière : -20% sur nos luminaires, dans nos boutiques et sur notre site jusqu'à "
    "samedi soir ! {link:" + TARGET + "}"
)
BROWSER = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Mobile Safari/537.36"
)
STOP = re.compile(r"(https?://\S+/o/)([0-9A-Za-z]{10})")
SHORT = re.compile(r"(https?://\S+/s/)([0-9A-Za-z]{7})")
FORM = re.compile(r'name="k" value="([0-9a-f]+)"')


@pytest.fixture
def served(db_url: str, tmp_path: Path) -> Iterator[tuple[Cli, ApiServer]]:
    cli = Cli(db_url)
    cli.env["TAMBOUR_NOW"] = NOW
    cli.advertiser("maison-lumiere")
    cli.advertiser("copie")
    cli("contacts", "import", str(sample_file(tmp_path)), "--advertiser", "maison-lumiere")
    cli("advertiser", "update", "maison-lumiere", "--stop-link")
    with ApiServer(db_url, tmp_path, env={"TAMBOUR_NOW": NOW}) as server:
        cli.env["TAMBOUR_PUBLIC_URL"] = server.url
        yield cli, server


def planned(cli: Cli, name: str, text: str = TEXT) -> dict[str, Any]:
    cli.blocked_or_not(
        "campaign", "create", "--advertiser", "maison-lumiere", "--name", name,
        "--nature", "commercial", "--sender", "MLUMIERE", "--categories", "luminaires",
        "--start", GOOD_FRIDAY, "--text", text, "--json",
    )  # fmt: skip
    payload: dict[str, Any] = cli.blocked_or_not("campaign", "plan", name, "--json")
    assert payload["blocks"] == []
    return payload


def sends(payload: dict[str, Any]) -> dict[str, str]:
    return {row["phone"]: row["text"] for row in payload["rows"] if row["decision"] == "send"}


def count(engine: Engine, table, *where) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar())


def test_each_message_gets_its_own_links_counted_at_their_final_length(
    served: tuple[Cli, ApiServer], engine: Engine
) -> None:
    cli, server = served
    payload = planned(cli, "Printemps")
    texts = sends(payload)
    assert len(texts) >= 3
    stops = [STOP.search(t) for t in texts.values()]
    shorts = [SHORT.search(t) for t in texts.values()]
    assert all(stops) and all(shorts)
    tokens = {m.group(2) for m in stops if m}
    codes = {m.group(2) for m in shorts if m}
    assert len(tokens) == len(texts) and len(codes) == len(texts)  # one each, never shared
    for phone, text in texts.items():
        assert phone.lstrip("+") not in text  # no number in the URL
        # The opt-out link ends the message, after the STOP mention (which still holds).
        assert text.endswith(STOP.search(text).group(0))  # type: ignore[union-attr]
        assert "STOP au 36111 " + server.url + "/o/" in text
    rows = {row["phone"]: row for row in payload["rows"] if row["decision"] == "send"}
    for row in rows.values():  # counted with the URLs, at their final length
        assert row["segments"] == count_text(row["text"]).segments
        assert row["segments"] > count_text(SHORT.sub("", STOP.sub("", row["text"]))).segments
    assert count(engine, message_links) == 2 * len(texts)
    # Planning again replaces the links with the plan: the old ones are gone.
    again = cli.blocked_or_not("campaign", "plan", "Printemps", "--json")
    assert count(engine, message_links) == 2 * len(sends(again))
    assert not {m.group(2) for m in map(SHORT.search, sends(again).values()) if m} & codes


def test_links_without_a_public_address_block_the_plan(db_url: str, tmp_path: Path) -> None:
    cli = Cli(db_url)
    cli.env["TAMBOUR_NOW"] = NOW
    cli.advertiser("maison-lumiere")
    cli("contacts", "import", str(sample_file(tmp_path)), "--advertiser", "maison-lumiere")
    cli.blocked_or_not(
        "campaign", "create", "--advertiser", "maison-lumiere", "--name", "P",
        "--sender", "MLUMIERE", "--nature", "commercial", "--start", GOOD_FRIDAY,
        "--text", TEXT, "--json",
    )  # fmt: skip
    payload = cli.blocked_or_not("campaign", "plan", "P", "--json")
    assert payload["blocks"] == ["links_unconfigured"]
    assert all("https://m.example.fr/s/xxxxxxx" in t for t in sends(payload).values())
    bad = cli("campaign", "plan", "P", ok=False)
    assert bad.code == 3
    cli.env["TAMBOUR_PUBLIC_URL"] = "m.example.fr"
    refused = cli("campaign", "plan", "P", ok=False)
    assert refused.code == 2 and "TAMBOUR_PUBLIC_URL" in refused.err


def test_the_opt_out_link_opts_out_on_the_button_only_and_the_next_campaign_excludes(
    served: tuple[Cli, ApiServer], engine: Engine
) -> None:
    cli, server = served
    texts = sends(planned(cli, "Printemps"))
    phone, text = sorted(texts.items())[0]
    link = STOP.search(text).group(0)  # type: ignore[union-attr]
    before = count(engine, suppressions)
    client = httpx.Client(timeout=30, headers={"Accept-Language": "fr-FR"})
    page = client.get(link)
    assert page.status_code == 200 and "Maison Lumière SAS" in page.text
    assert "Se désinscrire" in page.text and "START" in page.text
    assert "noindex" in page.headers["x-robots-tag"]
    client.head(link)
    assert count(engine, suppressions) == before  # fetching the page opts nobody out
    form = FORM.search(page.text).group(1)  # type: ignore[union-attr]
    # Without the page's own form value, or from another site: refused, nothing recorded.
    assert client.post(link, data={}).status_code == 403
    assert client.post(link, data={"k": "0" * 32}).status_code == 403
    other = client.post(link, data={"k": form}, headers={"Origin": "https://evil.example"})
    assert other.status_code == 403
    cross = client.post(link, data={"k": form}, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    assert count(engine, suppressions) == before
    done = client.post(link, data={"k": form}, headers={"Origin": server.url})
    assert done.status_code == 200 and "ne recevrez plus" in done.text
    assert count(engine, suppressions) == before + 1
    with engine.connect() as conn:
        (source,) = conn.execute(
            select(suppressions.c.source).order_by(suppressions.c.id.desc()).limit(1)
        ).one()
        assert source == "link"
        entries = conn.execute(
            select(audit_log.c.details).where(audit_log.c.action == "optout.add")
        ).all()
    assert len(entries) == 1
    opted_out = count(engine, evidence, evidence.c.kind == "opt_out")
    again = client.post(link, data={"k": form})  # pressing twice is pressing once
    assert again.status_code == 200 and count(engine, evidence, evidence.c.kind == "opt_out") == (
        opted_out
    )
    english = client.get(link, headers={"Accept-Language": "en-GB"})
    assert "You will no longer receive messages from Maison Lumière SAS" in english.text
    unknown = client.get(server.url + "/o/AAAAAAAAAA")
    assert unknown.status_code == 404 and "Ce lien n&#39;est pas valide" in unknown.text
    client.close()
    # The next campaign excludes the number, for the opt-out.
    rows = {r["phone"]: r for r in planned(cli, "Été", TEXT.replace("-20%", "-30%"))["rows"]}
    assert rows[phone]["decision"] == "exclude" and rows[phone]["reason"] == "opted_out"
    assert cli("audit", "verify", "--json").json()["ok"]


def _wait_for(engine: Engine, n: int) -> None:
    deadline = time.monotonic() + 10
    while count(engine, link_clicks) < n:
        assert time.monotonic() < deadline, "clicks not written"
        time.sleep(0.05)


def test_a_persons_click_is_counted_a_bots_is_not_and_a_click_is_never_consent(
    served: tuple[Cli, ApiServer], engine: Engine
) -> None:
    cli, server = served
    first = planned(cli, "Printemps")
    texts = sends(first)
    _, text = sorted(texts.items())[0]
    short = SHORT.search(text).group(0)  # type: ignore[union-attr]
    cli("campaign", "launch", "Printemps")
    client = httpx.Client(timeout=30)
    person = client.get(short, headers={"User-Agent": BROWSER})
    assert person.status_code == 302 and person.headers["location"] == TARGET
    assert client.head(short, headers={"User-Agent": BROWSER}).status_code == 302
    assert client.get(short, headers={"User-Agent": BROWSER, "Sec-Purpose": "prefetch"})
    assert client.get(short, headers={"User-Agent": "WhatsApp/2.23"}).status_code == 302
    assert client.get(server.url + "/s/zzzzzzz").status_code == 404
    client.close()
    _wait_for(engine, 4)
    with engine.connect() as conn:
        rows = conn.execute(select(link_clicks).order_by(link_clicks.c.id)).all()
    assert [r.bot for r in rows] == [None, "head", "prefetch", "user_agent"]
    assert all(r.outbox_id is not None and r.campaign_id == rows[0].campaign_id for r in rows)
    assert rows[0].ip in ("127.0.0.0/24", "::/48") and rows[0].user_agent == BROWSER
    report = cli("links", "report", "Printemps", "--json").json()
    assert report["clicks"] == 1 and report["people"] == 1
    assert report["not_counted"] == {"head": 1, "prefetch": 1, "user_agent": 1}
    assert sum(report["by_territory"].values()) == 1 and report["by_variant"] == {"": 1}
    # The person's click is their activity of the day, never a consent: the legal bases of
    # every recipient stay as they were.
    assert count(engine, evidence, evidence.c.source == "click") == 1
    assert count(engine, evidence, evidence.c.kind == "activity", evidence.c.source == "click") == 1
    again = cli.blocked_or_not(
        "campaign", "create", "--advertiser", "maison-lumiere", "--name", "Été",
        "--nature", "commercial", "--sender", "MLUMIERE", "--categories", "luminaires",
        "--start", GOOD_FRIDAY, "--text", TEXT, "--json",
    )  # fmt: skip
    assert again["blocks"] == []
    later = cli.blocked_or_not("campaign", "plan", "Été", "--json")
    decided = {r["phone"]: (r["decision"], r["basis"], r["reason"]) for r in later["rows"]}
    assert decided == {r["phone"]: (r["decision"], r["basis"], r["reason"]) for r in first["rows"]}
    assert cli("audit", "verify", "--json").json()["ok"]


def test_clicks_are_erased_after_the_retention_period(
    served: tuple[Cli, ApiServer], engine: Engine
) -> None:
    cli, _ = served
    planned(cli, "Printemps")
    with engine.connect() as conn:
        link = conn.execute(
            select(message_links).where(message_links.c.kind == "go").limit(1)
        ).one()
    target = click_service.LinkTarget(
        link.id, link.advertiser_id, link.campaign_id, link.contact_id, TARGET, None, None
    )
    now = datetime(2027, 3, 20, 8, tzinfo=UTC)
    with engine.begin() as conn:
        click_service.write_clicks(
            conn,
            [
                click_service.Click(target, now - timedelta(days=days), None, "bot", None)
                for days in (100, 91, 89, 1)
            ],
            now,
            None,
        )
    erased = cli("links", "erase-clicks", "--json").json()
    assert erased["clicks"] == 2 and count(engine, link_clicks) == 2
    assert cli("links", "erase-clicks", "--days", "30", "--json").json()["clicks"] == 1
    with engine.connect() as conn:
        details = (
            conn.execute(
                select(audit_log.c.details).where(audit_log.c.action == "link.clicks_erased")
            )
            .scalars()
            .all()
        )
    found = [d if isinstance(d, dict) else json.loads(d) for d in details]
    assert [d["clicks"] for d in found] == [2, 1]
    ctx = Context(engine, actor="test", clock=lambda: now)
    assert click_service.erase_expired(ctx).clicks == 0  # nothing twice


def test_the_clicks_route_serves_only_the_callers_advertiser(
    served: tuple[Cli, ApiServer], db_url: str
) -> None:
    cli, server = served
    planned(cli, "Printemps")
    with create_engine_for(db_url) as conn:
        campaign_id = conn.execute(select(campaigns.c.id)).scalar_one()
    mine = new_key(db_url, "--advertiser", "maison-lumiere", "--scopes", "read")
    theirs = new_key(db_url, "--advertiser", "copie", "--scopes", "read")
    ok = server.get(f"/api/v1/campaigns/{campaign_id}/clicks", headers=_bearer(mine))
    assert ok.status_code == 200 and ok.json()["clicks"] == 0
    refused = server.get(f"/api/v1/campaigns/{campaign_id}/clicks", headers=_bearer(theirs))
    assert refused.status_code == 404
    assert refused.headers["content-type"].startswith("application/problem+json")


@contextmanager
def create_engine_for(db_url: str) -> Iterator[Any]:
    made = make_engine(db_url, pooled=False)
    try:
        with made.connect() as conn:
            yield conn
    finally:
        made.dispose()


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_a_click_within_a_second_of_the_send_is_a_scanner_and_a_persons_is_told_by_webhook(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    cli = Cli(db_url)
    cli.env["TAMBOUR_NOW"] = NOW
    cli.env["TAMBOUR_PUBLIC_URL"] = "https://m.example.fr"
    cli.advertiser("maison-lumiere")
    cli("contacts", "import", str(sample_file(tmp_path)), "--advertiser", "maison-lumiere")
    planned(cli, "Printemps")
    cli("campaign", "launch", "Printemps")
    ctx = Context(engine, actor="test", clock=lambda: datetime(2027, 3, 26, 9, tzinfo=UTC))
    webhooks.create_endpoint(
        ctx, advertiser="maison-lumiere", url="https://hooks.example.fr/t",
        events=["link.clicked"], allow_private=True,
    )  # fmt: skip
    sent = datetime(2027, 3, 26, 9, tzinfo=UTC)
    with engine.begin() as conn:
        link = conn.execute(
            select(message_links).where(message_links.c.kind == "go").limit(1)
        ).one()
        conn.execute(
            update(outbox)
            .where(outbox.c.campaign_id == link.campaign_id, outbox.c.contact_id == link.contact_id)
            .values(state="submitted", submitted_at=sent)
        )
        message_id = conn.execute(
            select(outbox.c.id).where(
                outbox.c.campaign_id == link.campaign_id, outbox.c.contact_id == link.contact_id
            )
        ).scalar_one()
    target = click_service.LinkTarget(
        link.id, link.advertiser_id, link.campaign_id, link.contact_id, TARGET, "metropole", None
    )
    with engine.begin() as conn:
        people = click_service.write_clicks(
            conn,
            [
                click_service.Click(
                    target, sent + timedelta(milliseconds=300), None, BROWSER, None
                ),
                click_service.Click(target, sent + timedelta(minutes=5), None, BROWSER, None),
            ],
            sent + timedelta(minutes=5),
            None,
        )
    assert people == 1
    with engine.connect() as conn:
        bots = conn.execute(select(link_clicks.c.bot).order_by(link_clicks.c.id)).scalars().all()
        bodies = (
            conn.execute(
                select(webhook_events.c.body).where(webhook_events.c.type == "link.clicked")
            )
            .scalars()
            .all()
        )
    assert bots == ["too_soon", None]
    (body,) = [json.loads(b) for b in bodies]
    assert body["data"]["message_id"] == message_id and body["data"]["url"] == TARGET
    assert body["data"]["territory"] == "metropole" and "number" not in body["data"]


def test_no_click_is_lost_on_a_clean_shutdown(
    served: tuple[Cli, ApiServer], engine: Engine
) -> None:
    cli, server = served
    texts = sends(planned(cli, "Printemps"))
    cli("campaign", "launch", "Printemps")
    links = [SHORT.search(t).group(0) for t in texts.values()]  # type: ignore[union-attr]
    with httpx.Client(timeout=30, headers={"User-Agent": BROWSER}) as client:
        for n in range(60):
            assert client.get(links[n % len(links)]).status_code == 302
    server.stop()  # SIGTERM at once: the clicks still queued are written on the way out
    assert count(engine, link_clicks) == 60


def test_a_persons_clicks_are_in_their_data_and_go_with_an_erasure(
    served: tuple[Cli, ApiServer], engine: Engine, tmp_path: Path
) -> None:
    """Issue 18 with issue 17: the access copy lists the short links a person followed; an
    erasure removes those clicks (network, browser) with the rest, and the ledger verifies."""
    cli, _ = served
    texts = sends(planned(cli, "Printemps"))
    number, text = sorted(texts.items())[0]
    cli("campaign", "launch", "Printemps")
    short = SHORT.search(text).group(0)  # type: ignore[union-attr]
    with httpx.Client(timeout=30) as client:
        assert client.get(short, headers={"User-Agent": BROWSER}).status_code == 302
    _wait_for(engine, 1)
    asked = cli("requests", "add", number, "--advertiser", "maison-lumiere", "--kind", "access",
                "--requester", "la personne", "--json").json()["id"]  # fmt: skip
    cli("requests", "answer", str(asked), "--advertiser", "maison-lumiere", "--out",
        str(tmp_path))  # fmt: skip
    copy = json.loads((tmp_path / f"request-{asked}.json").read_text(encoding="utf-8"))
    [click] = copy["clicks"]
    assert click["campaign"] == "Printemps" and click["link_to"] == TARGET
    assert click["user_agent"] == BROWSER and click["not_counted_as"] is None
    erasure = cli("requests", "add", number, "--advertiser", "maison-lumiere", "--kind",
                  "erasure", "--requester", "la personne", "--json").json()["id"]  # fmt: skip
    done = cli("requests", "answer", str(erasure), "--advertiser", "maison-lumiere",
               "--confirm-erasure", "--json").json()  # fmt: skip
    assert done["erased"]["clicks"] == 1
    assert count(engine, link_clicks) == 0
    with engine.connect() as conn:
        left = conn.execute(select(outbox.c.e164, outbox.c.text)).all()
    assert all(number not in (e164 or "") and short not in (text or "") for e164, text in left)
    assert cli("audit", "verify", "--json").json()["ok"]
