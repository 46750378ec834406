"""A campaign's plan report, launch, live view, proof and export in the web app
(web/pages/campaign_plan.py, campaign_run.py, campaign_proof.py), against `tambour serve` with
its data made by the real command line; in Chromium for the marketer's whole path, with the
local SMSC and a worker sending what the page launched.

Each test makes its own contacts (tagged with its own tag) and its own campaign aimed at that
tag: the module's server and its two advertisers are shared."""

import csv
import os
import re
import select
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func
from sqlalchemy import select as sql_select

from tambour.store.engine import make_engine
from tambour.store.tables import campaigns, outbox
from tests.dispatch_setup import mobile
from tests.integration.web_app import HOME, OTHER, WebApp, csrf_of
from tests.integration.web_browser import Browser

MARKETER = "marketer@maison-lumiere.fr"
VIEWER = "viewer@maison-lumiere.fr"
STRANGER = "marketer@copie.fr"
TEXT = "Bonjour {first_name|}, -20% sur nos luminaires en décembre. Maison Lumière"
HEADER = [
    "phone", "first_name", "postal_code", "consent", "consent_at", "consent_method",
    "consent_checkbox_prechecked", "consent_source", "consent_proof", "tags",
]  # fmt: skip


def _block(name: str) -> int:
    """A block of numbers of the campaign's own (the module's ledger is shared)."""
    return 1_000 + zlib.crc32(name.encode()) % 90_000 * 100


def numbers_of(name: str, count: int) -> list[str]:
    return [mobile(_block(name) + i) for i in range(count)]


def make_campaign(
    web: WebApp,
    tmp_path: Path,
    name: str,
    *,
    consenting: int = 3,
    refusing: int = 1,
    text: str = TEXT,
    slug: str = HOME,
) -> int:
    """Import `consenting` contacts who consented and `refusing` who did not, tagged with the
    campaign's name, and define a commercial campaign aimed at them; its id."""
    tag = re.sub(r"[^a-z0-9]", "", name.lower())
    numbers = numbers_of(name, consenting + refusing)
    path = tmp_path / f"{tag}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for index, number in enumerate(numbers):
            consent = "oui" if index < consenting else "non"
            writer.writerow(
                [number, f"Léa{index}", "75011", consent, "2026-01-05", "web_form", "non",
                 "https://exemple.fr/inscription", f"form #{index}", tag]
            )  # fmt: skip
    web.cli("contacts", "import", str(path), "--advertiser", slug)
    sender = "MLUMIERE" if slug == HOME else "COPIE"
    web.cli.blocked_or_not(
        "campaign", "create", "--advertiser", slug, "--name", name, "--nature", "commercial",
        "--sender", sender, "--text", text, "--tags", tag, "--json",
    )  # fmt: skip
    return campaign_id(web, name, slug)


def campaign_id(web: WebApp, name: str, slug: str = HOME) -> int:
    engine = make_engine(web.server.db_url)
    try:
        with engine.connect() as conn:
            found = conn.execute(
                sql_select(campaigns.c.id).where(campaigns.c.name == name)
            ).scalars()
            ids = list(found)
    finally:
        engine.dispose()
    assert len(ids) == 1, ids
    return int(ids[0])


def eventually(check: Callable[[], Any], seconds: float = 60, what: str = "") -> Any:
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what or check}"
        time.sleep(0.3)


def path_of(cid: int, tail: str = "") -> str:
    return f"/a/{HOME}/campaigns/{cid}{tail}"


def plan_over_http(web: WebApp, client: httpx.Client, cid: int) -> str:
    """Plan from the page (a job run beside the server), then the report's HTML."""
    answer = web.post_form(client, path_of(cid, "/plan"), {})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == path_of(cid, "/plan")

    def planned() -> str | None:
        page = client.get(path_of(cid, "/plan"))
        assert page.status_code == 200, page.text
        return page.text if "Décisions" in page.text else None

    report: str = eventually(planned, what="the plan report")
    return report


def status_json(web: WebApp, name: str) -> dict[str, Any]:
    found: dict[str, Any] = web.cli(
        "campaign", "status", name, "--advertiser", HOME, "--json"
    ).json()
    return found


def figures(html: str) -> list[str]:
    """The big figures of a page's cards, as shown."""
    return re.findall(r'<span class="figure[^"]*">([^<]+)</span>', html)


# --- over HTTP --------------------------------------------------------------------------------


def test_plan_from_the_page_then_the_report_matches_the_command_line(
    web: WebApp, tmp_path: Path
) -> None:
    name = "Soldes de décembre"
    cid = make_campaign(web, tmp_path, name, consenting=3, refusing=2)
    client = web.client(MARKETER)
    before = client.get(path_of(cid, "/plan"))
    assert before.status_code == 200
    assert "Pas encore planifiée" in before.text
    assert "Planifier la campagne" in before.text
    report = plan_over_http(web, client, cid)
    shown = status_json(web, name)
    plan = shown["plan"]
    assert figures(report)[:3] == [str(plan["targeted"]), str(plan["send"]), str(plan["exclude"])]
    assert (plan["targeted"], plan["send"], plan["exclude"]) == (5, 3, 2)
    # Reasons and bases by their French labels, with what they mean.
    assert "Consentement préalable" in report
    for reason in plan["by_reason"]:
        assert f"<code>{reason}</code>" not in report  # a label, never a bare code
    assert "France métropolitaine" in report
    assert "Échantillons" in report and "Léa0" in report
    assert "Vérifier et lancer" in report
    # The charts: images with a name, and the same figures in tables.
    assert report.count('role="img"') >= 2
    assert "<caption>" in report


def test_launch_asks_for_the_name_then_the_live_page_counts(web: WebApp, tmp_path: Path) -> None:
    name = "Nuit des lampes"
    cid = make_campaign(web, tmp_path, name, consenting=2, refusing=0)
    client = web.client(MARKETER)
    plan_over_http(web, client, cid)
    confirm = client.get(path_of(cid, "/launch"))
    assert confirm.status_code == 200
    assert "Envoyer 2 messages ?" in confirm.text
    wrong = web.post_form(client, path_of(cid, "/launch"), {"confirmation": "nuit des lampes"})
    assert wrong.status_code == 422
    assert 'aria-invalid="true"' in wrong.text and "Ce n’est pas le nom" in wrong.text
    assert 'value="nuit des lampes"' in wrong.text  # what was typed stays
    assert status_json(web, name)["status"] == "planned"
    done = web.post_form(client, path_of(cid, "/launch"), {"confirmation": name})
    assert done.status_code == 303 and done.headers["location"] == path_of(cid, "?done=launched")
    live = client.get(done.headers["location"])
    assert live.status_code == 200
    assert "Lancée" in live.text or "lancée" in live.text
    assert status_json(web, name)["messages"]["queued"] == 2
    fragment = client.get(path_of(cid, "/live"))
    assert fragment.status_code == 200  # still sending: polled
    seen = re.search(r'name="seen" value="([0-9a-f]+)"', fragment.text)
    assert seen
    again = client.get(path_of(cid, "/live"), params={"seen": seen.group(1)})
    assert again.status_code == 204  # nothing changed: nothing to swap
    # Launched once: the confirmation page says so, a second launch is refused.
    assert "ne peut plus être lancée" in client.get(path_of(cid, "/launch")).text
    twice = web.post_form(
        client, path_of(cid, "/launch"), {"confirmation": name}, page=path_of(cid)
    )
    assert twice.status_code == 409
    # Cancel: confirmation, then its queued messages are withdrawn.
    assert "Annuler la campagne" in client.get(path_of(cid)).text
    cancel = web.post_form(client, path_of(cid, "/cancel"), {})
    assert cancel.status_code == 303
    shown = status_json(web, name)
    assert shown["status"] == "cancelled" and shown["messages"]["cancelled"] == 2
    last = client.get(path_of(cid, "/live"))
    assert last.status_code == 286  # htmx polls no more


def test_a_blocked_campaign_says_what_to_change_and_cannot_be_launched(
    web: WebApp, tmp_path: Path
) -> None:
    name = "Sans identité"
    cid = make_campaign(
        web, tmp_path, name, text="Bonjour {parrain}, -20% ce mois-ci. Maison Lumière"
    )
    client = web.client(MARKETER)
    report = plan_over_http(web, client, cid)
    assert "Bloquée" in report
    assert path_of(cid, "/edit") in report  # back to the editor
    page = client.get(path_of(cid, "/launch"))
    assert "ne peut pas être lancée" in page.text and 'name="confirmation"' not in page.text
    refused = web.post_form(
        client, path_of(cid, "/launch"), {"confirmation": name}, page=path_of(cid)
    )
    assert refused.status_code == 409
    assert status_json(web, name)["status"] == "planned"


def test_the_proof_is_found_by_number_never_in_the_address(web: WebApp, tmp_path: Path) -> None:
    name = "Preuve par numéro"
    cid = make_campaign(web, tmp_path, name, consenting=1, refusing=1)
    client = web.client(VIEWER)  # reading is enough
    web.cli("campaign", "plan", name, "--advertiser", HOME)
    number = numbers_of(name, 2)[1]
    national = "0" + number[3:]
    bad = web.post_form(client, path_of(cid, "/proof"), {"number": "06 12"})
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.text
    unknown = web.post_form(client, path_of(cid, "/proof"), {"number": "06 99 99 99 99"})
    assert unknown.status_code == 404 and 'aria-invalid="true"' in unknown.text
    found = web.post_form(client, path_of(cid, "/proof"), {"number": national})
    assert found.status_code == 303
    location = found.headers["location"]
    assert re.fullmatch(re.escape(path_of(cid, "/proof?contact=")) + r"\d+", location)
    assert number[1:] not in location and national not in location
    proof = client.get(location)
    assert proof.status_code == 200
    assert f"Preuve pour {number}" in proof.text
    assert "EXCLU" in proof.text and "sceau valide" in proof.text
    assert "Entrées du journal d’audit" in proof.text


def test_a_viewer_sees_everything_and_changes_nothing(web: WebApp, tmp_path: Path) -> None:
    name = "Vue seule"
    cid = make_campaign(web, tmp_path, name, consenting=1, refusing=0)
    viewer = web.client(VIEWER)
    assert "Planifier la campagne" not in viewer.get(path_of(cid, "/plan")).text
    token = csrf_of(viewer.get(path_of(cid, "/plan")).text)
    for tail, data in (
        ("/plan", {}),
        ("/launch", {"confirmation": name}),
        ("/cancel", {}),
        ("/export", {"form": "csv"}),
    ):
        answer = viewer.post(path_of(cid, tail), data={**data, "csrf_token": token})
        assert answer.status_code == 403, (tail, answer.status_code)
    assert status_json(web, name)["status"] == "draft"
    web.cli("campaign", "plan", name, "--advertiser", HOME)
    report = viewer.get(path_of(cid, "/plan"))
    assert "Décisions" in report.text and "Vérifier et lancer" not in report.text
    launch = viewer.get(path_of(cid, "/launch"))
    assert 'name="confirmation"' not in launch.text
    overview = viewer.get(path_of(cid))
    assert "Annuler la campagne" not in overview.text
    assert status_json(web, name)["status"] == "planned"
    # English second: the same report in English when the browser asks for it.
    english = web.client(VIEWER, language="en-GB,en;q=0.9").get(path_of(cid, "/plan")).text
    assert '<html lang="en">' in english
    assert "Plan report" in english and "Decisions" in english and "Prior consent" in english


def test_another_advertisers_account_finds_nothing(web: WebApp, tmp_path: Path) -> None:
    name = "Chez Maison Lumière"
    cid = make_campaign(web, tmp_path, name, consenting=1, refusing=0)
    web.cli("campaign", "plan", name, "--advertiser", HOME)
    stranger = web.client(STRANGER)
    tails = ("", "/plan", "/plan/progress", "/launch", "/cancel", "/live", "/timeline", "/proof",
             "/proof?contact=1", "/export", "/export/progress", "/export/1/file")  # fmt: skip
    for tail in tails:
        assert stranger.get(path_of(cid, tail)).status_code == 404, tail
    # Its own advertiser's path with Maison Lumière's campaign id: not found either.
    assert stranger.get(f"/a/{OTHER}/campaigns/{cid}/plan").status_code == 404
    token = csrf_of(stranger.get(f"/a/{OTHER}/").text)
    for tail in ("/plan", "/launch", "/cancel", "/proof", "/export"):
        answer = stranger.post(path_of(cid, tail), data={"csrf_token": token})
        assert answer.status_code == 404, tail
        answer = stranger.post(
            f"/a/{OTHER}/campaigns/{cid}{tail}", data={"csrf_token": token, "number": "0612"}
        )
        assert answer.status_code == 404, tail
    assert status_json(web, name)["status"] == "planned"


# --- in Chromium, with the local SMSC and a worker ---------------------------------------------


def _first_line(process: subprocess.Popen[str], pattern: str) -> re.Match[str]:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], 30)
    assert ready, "the local SMSC printed nothing"
    line = process.stdout.readline()
    found = re.search(pattern, line)
    assert found, f"the local SMSC said {line!r}"
    return found


@contextmanager
def running(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[str]]:
    """`tambour ARGS` as its own process until the block ends (then SIGTERM, or killed)."""
    with log.open("w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "tambour", *args],
            env=env, stdout=subprocess.PIPE, stderr=err, text=True,
        )  # fmt: skip
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()


def _sending_instant(web: WebApp, cid: int) -> str | None:
    """When the campaign's first message is due, if later than now (outside the sending
    window, a worker started there sends at once): TAMBOUR_NOW for the SMSC and the worker."""
    engine = make_engine(web.server.db_url)
    try:
        with engine.connect() as conn:
            due: datetime = conn.execute(
                sql_select(func.min(outbox.c.send_at)).where(outbox.c.campaign_id == cid)
            ).scalar_one()
    finally:
        engine.dispose()
    if due.tzinfo is None:
        due = due.replace(tzinfo=UTC)
    if due <= datetime.now(UTC):
        return None
    return (due + timedelta(seconds=1)).isoformat()


@contextmanager
def smsc_and_worker(web: WebApp, cid: int, tmp_path: Path) -> Iterator[None]:
    """The local SMSC and a worker sending to it over SMPP, on the server's database."""
    env = {**os.environ, "TAMBOUR_DATABASE_URL": web.server.db_url, "TAMBOUR_ACTOR": "test"}
    instant = _sending_instant(web, cid)
    if instant:
        env["TAMBOUR_NOW"] = instant
    smsc_args = ["smsc", "--port", "0", "--admin-port", "0", "--receipt-delay", "0.3"]
    with running(smsc_args, env, tmp_path / "smsc.log") as smsc:
        port = int(_first_line(smsc, r"SMSC listening on 127\.0\.0\.1:(\d+)").group(1))
        config = tmp_path / "worker.toml"
        config.write_text(
            f'[transport]\nkind = "smpp"\nhost = "127.0.0.1"\nport = {port}\n'
            'system_id = "tambour"\npassword = "tambour"\n',
            encoding="utf-8",
        )
        worker_env = {**env, "TAMBOUR_CONFIG": str(config)}
        with running(
            ["worker", "--no-jobs", "--no-webhooks", "--log-level", "warning"],
            worker_env,
            tmp_path / "worker.log",
        ):
            yield


def test_a_marketer_plans_launches_watches_it_send_and_opens_a_proof(
    web: WebApp, browser: Browser, tmp_path: Path
) -> None:
    name = "Lumières d’hiver"
    cid = make_campaign(web, tmp_path, name, consenting=3, refusing=1)
    page = browser.signed_in(web, MARKETER)
    page.goto(web.url + path_of(cid, "/plan"))
    assert page.get_by_role("heading", level=2, name="Pas encore planifiée").is_visible()
    browser.check(page, "campaign-plan-unplanned")

    # Plan: a job, its progress followed until the report shows.
    page.get_by_role("button", name="Planifier la campagne").click()
    page.get_by_role("heading", name="Décisions").wait_for(timeout=60_000)
    plan = status_json(web, name)["plan"]
    decisions = page.get_by_role("table", name="Destinataires par décision")
    assert decisions.get_by_role("row", name=re.compile("messages à envoyer")).inner_text().split(
        "\t"
    )[1] == str(plan["send"])
    reasons = page.get_by_role("table", name=re.compile("Pourquoi des destinataires"))
    assert reasons.get_by_role("row").count() == 1 + len(plan["by_reason"])
    assert page.get_by_role("img", name=re.compile("Destinataires par décision")).count() == 1
    browser.check(page, "campaign-plan-report")

    # Launch: the number of messages repeated, the name typed; a wrong one refused in French.
    page.get_by_role("link", name="Vérifier et lancer").click()
    assert page.get_by_role("heading", name="Envoyer 3 messages ?").is_visible()
    browser.check(page, "campaign-launch")
    field = page.get_by_label("Tapez le nom de la campagne pour confirmer")
    field.fill("Lumières d'hiver")  # a straight apostrophe: not the name
    page.get_by_role("button", name="Lancer : envoyer 3 messages").click()
    assert "Ce n’est pas le nom de la campagne" in page.locator(".field .error").inner_text()
    assert page.get_by_label("Tapez le nom de la campagne pour confirmer").input_value() == (
        "Lumières d'hiver"
    )
    browser.check(page, "campaign-launch-refused")
    assert status_json(web, name)["status"] == "planned"
    page.get_by_label("Tapez le nom de la campagne pour confirmer").fill(name)
    page.get_by_role("button", name="Lancer : envoyer 3 messages").click()
    page.get_by_role("status").filter(has_text="Lancée").wait_for()
    browser.check(page, "campaign-live-queued")

    # The local SMSC and a worker send it; the live page follows to "delivered".
    with smsc_and_worker(web, cid, tmp_path):
        delivered = page.locator("#live .live-cards li").filter(has_text="messages distribués")
        eventually(
            lambda: delivered.locator(".figure").inner_text() == "3", 90, "3 delivered on the page"
        )
    shown = status_json(web, name)
    assert shown["messages"]["delivered"] == 3 and shown["status"] == "finished"
    page.reload()
    page.get_by_role("img", name=re.compile("Distribués et en échec")).wait_for()
    browser.check(page, "campaign-live-delivered")
    # Without JavaScript, the chart is a page of its own; htmx is told to ask no more.
    client = web.client(MARKETER)
    alone = client.get(path_of(cid, "/timeline"))
    assert alone.status_code == 200 and "<h1>Distribués et en échec au fil du temps" in alone.text
    asked = client.get(path_of(cid, "/timeline"), headers={"HX-Request": "true"})
    assert asked.status_code == 286 and "<h1>" not in asked.text and 'role="img"' in asked.text

    # A recipient's proof: the number typed in a form, never in the address.
    number = numbers_of(name, 4)[0]
    page.get_by_role("navigation", name="Cette campagne").get_by_role(
        "link", name="Preuve", exact=True
    ).click()
    page.get_by_label("Numéro de téléphone du destinataire").fill("0" + number[3:])
    page.get_by_role("button", name="Afficher la preuve").click()
    page.get_by_role("heading", name=f"Preuve pour {number}").wait_for()
    assert number[3:] not in page.url
    proof = page.get_by_role("article")
    assert "ENVOYÉ" in proof.inner_text() and "Consentement préalable" in proof.inner_text()
    trail = page.get_by_role("table", name="Le parcours du message").inner_text()
    assert "mis en file au lancement" in trail and "distribué au destinataire" in trail
    browser.check(page, "campaign-proof")

    # The campaign's export, as a job, then its file.
    page.get_by_role("link", name="Export des preuves").click()
    page.get_by_label("Lignes JSON").check()
    page.get_by_role("button", name="Exporter la preuve").click()
    link = page.get_by_role("link", name=re.compile("Télécharger"))
    link.wait_for(timeout=60_000)
    browser.check(page, "campaign-export")
    with page.expect_download() as download:
        link.click()
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4  # every recipient, the excluded one included


def test_a_viewer_reads_the_pages_without_a_button_to_change_them(
    web: WebApp, browser: Browser, tmp_path: Path
) -> None:
    name = "Lecture seule"
    cid = make_campaign(web, tmp_path, name, consenting=2, refusing=1)
    web.cli("campaign", "plan", name, "--advertiser", HOME)
    page = browser.signed_in(web, VIEWER)
    page.goto(web.url + path_of(cid, "/plan"))
    assert page.get_by_role("heading", name="Décisions").is_visible()
    assert page.get_by_role("link", name="Vérifier et lancer").count() == 0
    assert page.get_by_role("button", name="Planifier à nouveau").count() == 0
    browser.check(page, "campaign-plan-report-viewer")
    page.goto(web.url + path_of(cid))
    assert page.get_by_role("link", name=re.compile("Annuler la campagne")).count() == 0
    browser.check(page, "campaign-overview-viewer")
    page.goto(web.url + path_of(cid, "/launch"))
    assert page.get_by_label("Tapez le nom de la campagne pour confirmer").count() == 0
    browser.check(page, "campaign-launch-viewer")
    page.goto(web.url + path_of(cid, "/cancel"))
    assert page.get_by_role("button", name="Oui, annuler la campagne").count() == 0
    browser.check(page, "campaign-cancel-viewer")
    page.goto(web.url + path_of(cid, "/proof"))
    page.get_by_label("Numéro de téléphone du destinataire").fill("06 99 99 99 99")
    page.get_by_role("button", name="Afficher la preuve").click()
    assert page.get_by_label("Numéro de téléphone du destinataire").get_attribute(
        "aria-invalid"
    ) == ("true")
    browser.check(page, "campaign-proof-not-found")
