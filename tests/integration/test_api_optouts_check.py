"""`GET /api/v1/optouts/{number}` over real HTTP against `tambour serve`: whether a number is
on the advertiser's suppression list, since when and how, in any notation; a bad number and
another advertiser's list refused as problems; the number in the path never in the server's
log. And the `contact.opted_out` webhook event an opt-out added through the API or the command
line queues."""

import json
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from tambour.services import webhooks
from tambour.services.context import Context
from tambour.store.tables import webhook_events
from tests.integration.api_server import ApiServer, assert_problem, new_key
from tests.integration.api_tenants import two_advertisers
from tests.integration.cli import Cli

OPTOUTS = "/api/v1/optouts"
PERSON = "+33612345678"


def events(engine: Engine, kind: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        bodies = conn.execute(
            select(webhook_events.c.body)
            .where(webhook_events.c.type == kind)
            .order_by(webhook_events.c.id)
        ).scalars()
        return [json.loads(body) for body in bodies]


def test_a_number_is_checked_and_never_logged(db_url: str, engine: Engine, tmp_path: Path) -> None:
    cli = Cli(db_url)
    key = two_advertisers(cli)
    reader = new_key(db_url, "--advertiser", "maison-lumiere", "--scopes", "read")
    with ApiServer(db_url, tmp_path) as server:
        before = server.get(f"{OPTOUTS}/{PERSON}", token=reader)
        assert before.status_code == 200, before.text
        assert before.json()["opted_out"] is False and before.json()["source"] is None
        assert before.json()["since"] is None and len(before.json()["phone_hash"]) == 16
        added = server.post(OPTOUTS, token=key, json={"number": PERSON, "source": "link"})
        assert added.status_code == 200, added.text
        for notation in (PERSON, "0612345678", "06 12 34 56 78", "%2B33612345678"):
            after = server.get(f"{OPTOUTS}/{notation}", token=reader)
            assert after.status_code == 200, after.text
            checked = after.json()
            assert checked["opted_out"] is True and checked["source"] == "link", checked
            assert checked["since"].endswith("+00:00") and checked["recorded_at"]
            assert checked["phone_hash"] == added.json()["phone_hash"]
            assert "612345678" not in after.text
        other = server.get(f"{OPTOUTS}/+33612345679", token=reader).json()
        assert other["opted_out"] is False

        bad = assert_problem(server.get(f"{OPTOUTS}/06123", token=reader), 422, "invalid_phone")
        assert bad["errors"][0]["field"] == "/number"
        theirs = server.get(f"{OPTOUTS}/{PERSON}", token=reader, params={"advertiser": "copie"})
        assert_problem(theirs, 404, "advertiser_not_found")
        logged = server.log_path.read_text()
    for digits in ("612345678", "612345679", "12 34 56 78", "06123"):
        assert digits not in logged, digits
    assert "/api/v1/optouts/{number}" in logged


def test_an_opt_out_added_is_told_by_webhook(db_url: str, engine: Engine, tmp_path: Path) -> None:
    cli = Cli(db_url)
    key = two_advertisers(cli)
    ctx = Context(engine=engine, actor="test")
    for slug in ("maison-lumiere", "copie"):
        webhooks.create_endpoint(
            ctx, advertiser=slug, url="http://127.0.0.1:9/hook", allow_private=True
        )
    with ApiServer(db_url, tmp_path) as server:
        added = server.post(OPTOUTS, token=key, json={"number": PERSON, "source": "sms_stop"})
        assert added.status_code == 200, added.text
    told = events(engine, "contact.opted_out")
    assert len(told) == 1, told
    assert told[0]["data"]["number"] == PERSON and told[0]["data"]["source"] == "sms_stop"
    cli("optout", "add", "06 12 34 56 79", "--advertiser", "copie", "--source", "link")
    told = events(engine, "contact.opted_out")
    assert [event["data"]["number"] for event in told] == [PERSON, "+33612345679"]
    assert told[1]["data"]["source"] == "link"


def test_a_complaint_is_told_as_such_and_a_list_tells_each_new_opposition(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    """A 33700 report is `contact.complained`; an opposition list tells each number it adds
    to the suppression list once, and nothing for a number on it already."""
    cli = Cli(db_url)
    two_advertisers(cli)
    ctx = Context(engine=engine, actor="test")
    webhooks.create_endpoint(
        ctx, advertiser="maison-lumiere", url="http://127.0.0.1:9/hook", allow_private=True
    )
    cli("optout", "add", PERSON, "--advertiser", "maison-lumiere", "--source", "complaint_33700")
    assert [e["data"]["source"] for e in events(engine, "contact.complained")] == [
        "complaint_33700"
    ]
    listed = tmp_path / "oppositions.txt"
    listed.write_text("06 12 34 56 78\n06 12 34 56 80\n06 12 34 56 80\n06 12 34 56 81\n")
    cli("optout", "import", str(listed), "--advertiser", "maison-lumiere")
    told = [e["data"]["number"] for e in events(engine, "contact.opted_out")]
    assert told == ["+33612345680", "+33612345681"]
    reported = tmp_path / "33700.txt"
    reported.write_text("06 12 34 56 81\n06 12 34 56 81\n")
    cli("optout", "import", str(reported), "--advertiser", "maison-lumiere",
        "--source", "complaint_33700")  # fmt: skip
    complained = [e["data"]["number"] for e in events(engine, "contact.complained")]
    assert complained == [PERSON, "+33612345681"]
