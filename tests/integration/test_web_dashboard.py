"""The dashboard: its figures (services/dashboard.py) on both databases, day by day in Paris
time across a change of offset, and the page as each role and each advertiser sees it, over
HTTP and in Chromium (axe-core)."""

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path

from sqlalchemy import Engine, select, update

from tambour.rules.codes import OptOutSource
from tambour.services import dashboard, jobs, optouts
from tambour.store.engine import make_engine
from tambour.store.tables import campaigns, outbox
from tests.dispatch_setup import context, launched_campaign, mobile, paris, write_contacts
from tests.integration.web_app import WebApp
from tests.integration.web_browser import Browser

# Sunday 29 March 2026: Paris goes from +01:00 to +02:00 at 02:00 (a day of 23 hours).
NOW = paris("2026-04-08T15:00")


def _set(engine: Engine, ids: list[int], **values: object) -> None:
    with engine.begin() as conn:
        conn.execute(update(outbox).where(outbox.c.id.in_(ids)).values(**values))


def _ids(engine: Engine, campaign: str) -> list[int]:
    with engine.connect() as conn:
        found = conn.execute(
            select(outbox.c.id)
            .join(campaigns, campaigns.c.id == outbox.c.campaign_id)
            .where(campaigns.c.name == campaign)
            .order_by(outbox.c.id)
        )
        return list(found.scalars())


def test_the_figures_count_each_message_on_its_paris_day(engine: Engine, tmp_path: Path) -> None:
    launched_campaign(
        engine, tmp_path, [mobile(i) for i in range(12)], now=NOW - timedelta(days=12),
        name="printemps",
    )  # fmt: skip
    ids = _ids(engine, "printemps")
    # 00:30 in Paris on 30 March is 22:30 UTC on the 29th: it counts on the 30th.
    late_night = paris("2026-03-30T00:30")
    _set(engine, ids[:4], state="delivered", submitted_at=late_night,
         done_at=late_night + timedelta(minutes=2))  # fmt: skip
    _set(engine, ids[4:6], state="failed", submitted_at=late_night,
         done_at=paris("2026-03-30T09:00"), error_code=1)  # fmt: skip
    _set(engine, ids[6:7], state="submitted", submitted_at=paris("2026-04-08T14:00"))
    _set(engine, ids[7:8], state="unknown", submitted_at=paris("2026-04-08T14:00"),
         done_at=paris("2026-04-08T14:10"), reason="worker_lost")  # fmt: skip
    # Long ago: outside the 30 days.
    _set(engine, ids[8:9], state="delivered", submitted_at=paris("2026-02-01T10:00"),
         done_at=paris("2026-02-01T10:01"))  # fmt: skip
    ctx = context(engine, NOW)
    for number, source, at in [
        (mobile(100), OptOutSource.SMS_STOP, paris("2026-04-07T20:00")),
        (mobile(101), OptOutSource.MANUAL, paris("2026-04-07T23:59")),
        (mobile(102), OptOutSource.COMPLAINT_33700, paris("2026-04-08T08:00")),
        (mobile(103), OptOutSource.SMS_STOP, paris("2026-01-01T08:00")),  # too old
    ]:
        optouts.add(ctx, slug="maison-lumiere", number=number, source=source, at=at)

    found = dashboard.figures(ctx, slug="maison-lumiere")

    assert len(found.days) == 30
    assert found.days[-1].day.isoformat() == "2026-04-08"
    assert found.days[0].day.isoformat() == "2026-03-10"
    by_day = {d.day.isoformat(): d for d in found.days}
    assert (by_day["2026-03-30"].sent, by_day["2026-03-30"].delivered) == (6, 4)
    assert by_day["2026-03-30"].failed == 2
    assert by_day["2026-03-29"].sent == 0  # UTC's day, not Paris's
    assert by_day["2026-04-08"].sent == 1  # submitted; the unknown one is not counted as sent
    assert (by_day["2026-04-07"].opt_outs, by_day["2026-04-08"].complaints) == (2, 1)
    totals = found.totals
    assert (totals.sent, totals.delivered, totals.failed) == (7, 4, 2)
    assert (totals.opt_outs, totals.complaints) == (2, 1)
    assert found.campaigns["launched"] == 1 and found.campaigns["draft"] == 0
    assert [(c.name, c.messages) for c in found.in_doubt] == [("printemps", 1)]
    assert not found.blocked and found.failed_job_count == 0
    assert not found.complaints.rising  # one complaint is no trend
    assert found.needs_attention  # the message in doubt


def test_a_rising_complaint_rate_and_a_failed_job_need_attention(
    engine: Engine, tmp_path: Path
) -> None:
    launched_campaign(
        engine, tmp_path, [mobile(i) for i in range(20)], now=NOW - timedelta(days=20),
        name="ete",
    )  # fmt: skip
    ids = _ids(engine, "ete")
    _set(engine, ids[:10], state="delivered", submitted_at=NOW - timedelta(days=15),
         done_at=NOW - timedelta(days=15))  # fmt: skip
    _set(engine, ids[10:], state="delivered", submitted_at=NOW - timedelta(days=2),
         done_at=NOW - timedelta(days=2))  # fmt: skip
    ctx = context(engine, NOW)
    for index in range(3):
        optouts.add(
            ctx, slug="maison-lumiere", number=mobile(200 + index),
            source=OptOutSource.COMPLAINT_33700, at=NOW - timedelta(days=1, hours=index),
        )  # fmt: skip
    found = dashboard.figures(ctx, slug="maison-lumiere")
    trend = found.complaints
    assert (trend.week_complaints, trend.week_sent, trend.before_sent) == (3, 10, 10)
    assert trend.week_rate == 300.0 and trend.before_rate == 0.0
    assert trend.rising and found.needs_attention

    advertiser_id = found_id(engine)
    job = jobs.submit(
        ctx, jobs.JobRequest(kind="contacts.import", arguments={}, advertiser_id=advertiser_id)
    )
    with engine.begin() as conn:
        from tambour.store.tables import jobs as job_rows

        conn.execute(
            update(job_rows)
            .where(job_rows.c.id == job.id)
            .values(state="failed", error_code="file_unreadable", error_message="unreadable",
                    finished_at=NOW - timedelta(hours=1))
        )  # fmt: skip
    again = dashboard.figures(ctx, slug="maison-lumiere")
    assert again.failed_job_count == 1
    assert [(j.id, j.kind) for j in again.failed_jobs] == [(job.id, "contacts.import")]


def found_id(engine: Engine) -> int:
    from tambour.store.tables import advertisers

    with engine.connect() as conn:
        return int(
            conn.execute(
                select(advertisers.c.id).where(advertisers.c.slug == "maison-lumiere")
            ).scalar_one()
        )


# --- the page ----------------------------------------------------------------------------------

ADVERTISER = "dash-lumiere"  # an advertiser of this module's own: its figures are exact
_BUILT: set[str] = set()  # the servers (one a backend) whose world is made


def _world(web: WebApp, tmp_path: Path) -> None:
    """An advertiser with a launched campaign of 6 messages, 3 delivered and 1 failed
    yesterday, 1 unknown; a planned campaign blocked; an opt-out and a complaint today."""
    if web.url in _BUILT:
        return
    web.cli.advertiser(ADVERTISER)
    web.add_user(f"marketer@{ADVERTISER}.fr", "marketer", ADVERTISER)
    web.add_user(f"viewer@{ADVERTISER}.fr", "viewer", ADVERTISER)
    path = write_contacts(tmp_path / "dash.csv", [mobile(300 + i) for i in range(6)])
    web.cli("contacts", "import", str(path), "--advertiser", ADVERTISER)
    sender = ADVERTISER.replace("-", "").upper()[:11]
    definition = ("--nature", "commercial", "--sender", sender, "--text",
                  "Bonjour, -20% sur nos luminaires.")  # fmt: skip
    web.cli("campaign", "create", "--advertiser", ADVERTISER, "--name", "Rentrée", *definition)
    web.cli("campaign", "plan", "Rentrée", "--advertiser", ADVERTISER)
    web.cli("campaign", "launch", "Rentrée", "--advertiser", ADVERTISER)
    # Planned, blocked: no contact has the tag it aims at.
    web.cli(
        "campaign", "create", "--advertiser", ADVERTISER, "--name", "Soldes d'hiver",
        "--tags", "personne", *definition,
    )  # fmt: skip
    web.cli.blocked_or_not("campaign", "plan", "Soldes d'hiver", "--advertiser", ADVERTISER,
                           "--json")  # fmt: skip
    engine = make_engine(web.server.db_url)
    try:
        ids = _ids(engine, "Rentrée")
        yesterday = datetime.now(UTC) - timedelta(days=1)
        _set(engine, ids[:3], state="delivered", submitted_at=yesterday, done_at=yesterday)
        _set(engine, ids[3:4], state="failed", submitted_at=yesterday, done_at=yesterday)
        _set(engine, ids[4:5], state="unknown", submitted_at=yesterday, done_at=yesterday,
             reason="worker_lost")  # fmt: skip
    finally:
        engine.dispose()
    web.cli("optout", "add", mobile(310), "--advertiser", ADVERTISER, "--source", "sms_stop")
    web.cli("optout", "add", mobile(311), "--advertiser", ADVERTISER, "--source", "complaint_33700")
    _BUILT.add(web.url)


def _text(html: str) -> str:
    spaced = unescape(re.sub(r"<[^>]+>", " ", html)).replace("\u202f", " ").replace("\xa0", " ")
    return re.sub(r"\s+", " ", spaced)


def test_the_dashboard_shows_the_figures_and_what_needs_attention(
    web: WebApp, tmp_path: Path
) -> None:
    _world(web, tmp_path)
    page = web.client(f"marketer@{ADVERTISER}.fr").get(f"/a/{ADVERTISER}/")
    assert page.status_code == 200, page.text
    html = page.text
    assert '<html lang="fr">' in html and html.count("<h1") == 1
    text = _text(html)
    assert "4 messages envoyés" in text and "3 distribués au téléphone (75 %)" in text
    assert "1 en échec, non distribué " in text and "1 désinscription enregistrée" in text
    assert "1 plainte au 33700" in text
    assert "1 message de « Rentrée » a un résultat inconnu" in text
    assert "« Soldes d'hiver » est planifiée mais ne peut pas être lancée" in text
    assert html.count('role="img"') == 3 and "<title" in html
    # The same figures in a table, in French notation, today's row first.
    assert "<caption>" in html and 'scope="row"' in html
    assert f'href="/a/{ADVERTISER}/campaigns/' in html


def test_the_dashboard_is_the_advertisers_own(web: WebApp, tmp_path: Path) -> None:
    _world(web, tmp_path)
    assert web.client("marketer@copie.fr").get(f"/a/{ADVERTISER}/").status_code == 404
    assert web.client("marketer@copie.fr").get("/a/maison-lumiere/").status_code == 404
    operator = web.client("operator@tambour.test").get(f"/a/{ADVERTISER}/")
    assert operator.status_code == 404  # an operator reads no advertiser's data
    own = web.client("marketer@maison-lumiere.fr").get("/a/maison-lumiere/")
    assert own.status_code == 200 and "Rentrée" not in own.text
    viewer = web.client(f"viewer@{ADVERTISER}.fr").get(f"/a/{ADVERTISER}/")
    assert viewer.status_code == 200 and "<form" not in viewer.text.split("<main", 1)[1]


def test_the_dashboard_in_chromium(web: WebApp, tmp_path: Path, browser: Browser) -> None:
    _world(web, tmp_path)
    page = browser.signed_in(web, f"marketer@{ADVERTISER}.fr")
    page.goto(web.url + f"/a/{ADVERTISER}/")
    assert page.get_by_role("heading", level=1, name="Tableau de bord").is_visible()
    assert page.get_by_role("img", name=re.compile("Messages par jour")).is_visible()
    page.get_by_text("Les mêmes chiffres, jour par jour").click()
    table = page.get_by_role("table", name=re.compile("Messages, désinscriptions"))
    assert table.is_visible()
    browser.check(page, "dashboard")
    page.get_by_role("link", name=re.compile("Suivre « Rentrée »")).click()
    assert re.search(r"/campaigns/\d+$", page.url)
    english = browser.signed_in(web, f"viewer@{ADVERTISER}.fr")
    english.goto(web.url + f"/a/{ADVERTISER}/")
    english.get_by_role("button", name="English").click()
    english.wait_for_load_state()
    assert english.get_by_role("heading", level=1, name="Dashboard").is_visible()
    browser.check(english, "dashboard-en")
