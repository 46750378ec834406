"""A/B tests in the web app (issue 17, point 4), on SQLite and PostgreSQL: a marketer writes a
campaign's variants in the editor (each with its live counter), reads the test's draw in the
plan report, launches, follows each variant's figures on the campaign's page and ends the test
by sending a variant to the rest of the audience, whose held messages are then queued with that
variant's text; in Chromium, axe-core on every page. Over HTTP: refusals beside their fields in
French, nothing recorded; the settings ignored without a variant, the test removed by an edit;
a viewer reads the test and cannot end it (403); another advertiser finds nothing (404)."""

import csv
import html
import re
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select

from tambour.services import campaign_drafts as drafts
from tambour.services.context import Problem
from tambour.sms.text import count_text
from tambour.store.engine import make_engine
from tambour.store.tables import campaigns, outbox, plan_rows
from tambour.web import refusals
from tests.integration.test_web_tenancy import advertiser_routes
from tests.integration.web_app import HOME, OTHER, WebApp, csrf_of
from tests.integration.web_browser import Browser

MARKETER = "marketer@maison-lumiere.fr"
VIEWER = "viewer@maison-lumiere.fr"
STRANGER = "marketer@copie.fr"
CAMPAIGNS = f"/a/{HOME}/campaigns"
STOP = " STOP au 36111"  # the mention the advertiser's messages carry (tests/integration/cli.py)
TEXT_A = "Maison Lumière : -20% sur nos luminaires en décembre."
TEXT_B = "Maison Lumière : -30% sur nos lampes en décembre."
TEXT_C = "Maison Lumière : une lampe offerte pour deux achetées."
HEADER = [
    "phone", "first_name", "postal_code", "consent", "consent_at", "consent_method",
    "consent_checkbox_prechecked", "consent_source", "consent_proof", "tags",
]  # fmt: skip
_NUMBERS: dict[str, int] = {}  # each test's own block of numbers (the module's ledger is shared)


def import_contacts(web: WebApp, tmp_path: Path, tag: str, count: int) -> None:
    """`count` consenting contacts of Maison Lumière, tagged `tag` (a campaign aims at it)."""
    first = 7_000 + 1_000 * _NUMBERS.setdefault(tag, len(_NUMBERS))
    path = tmp_path / f"{tag}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for index in range(count):
            writer.writerow(
                [f"+336{20_000_000 + first + index:08d}", f"Léa{index}", "75011", "oui",
                 "2026-01-05", "web_form", "non", "https://exemple.fr/inscription",
                 f"form #{index}", tag]
            )  # fmt: skip
    web.cli("contacts", "import", str(path), "--advertiser", HOME)


def launched(web: WebApp, tmp_path: Path, name: str, tag: str, *variants: str) -> int:
    """A campaign of TEXT_A with `variants`, half of its audience tested, planned and launched
    by the command line; its id."""
    import_contacts(web, tmp_path, tag, 12)
    options = [x for text in variants for x in ("--variant", text)]
    if variants:
        options += ["--test-share", "50"]
    web.cli.blocked_or_not(
        "campaign", "create", "--advertiser", HOME, "--name", name, "--nature", "commercial",
        "--sender", "MLUMIERE", "--text", TEXT_A, "--tags", tag, *options, "--json",
    )  # fmt: skip
    web.cli("campaign", "plan", name, "--advertiser", HOME)
    web.cli("campaign", "launch", name, "--advertiser", HOME)
    return int(campaign_row(web, name).id)


def campaign_row(web: WebApp, name: str) -> Any:
    engine = make_engine(web.server.db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(campaigns).where(campaigns.c.name == name)).one_or_none()
    finally:
        engine.dispose()


def rest_of(web: WebApp, campaign_id: int) -> list[Any]:
    """The messages of the campaign's rest (outbox rows of no variant), with the variant their
    plan rows were given."""
    engine = make_engine(web.server.db_url)
    try:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    select(outbox.c.state, outbox.c.text, plan_rows.c.variant)
                    .join(
                        plan_rows,
                        (plan_rows.c.campaign_id == outbox.c.campaign_id)
                        & (plan_rows.c.contact_id == outbox.c.contact_id),
                    )
                    .join(campaigns, campaigns.c.id == outbox.c.campaign_id)
                    .where(
                        outbox.c.campaign_id == campaign_id,
                        outbox.c.variant.is_(None),
                        plan_rows.c.generation == campaigns.c.plan_generation,
                    )
                )
            )
    finally:
        engine.dispose()


def said(code: str, field: str, message: str = "") -> str:
    """The French text the page shows for a refusal (web/refusals.py, the server's own)."""
    return refusals.problem_text(Problem(field, code, message), "fr")


def error_beside(page: str, field: str) -> str:
    found = re.search(rf'<p class="error" id="f-{field}-error">([^<]*)</p>', page)
    assert found, f"no error beside {field}"
    return html.unescape(found.group(1))


def textarea(page: str, field: str) -> str:
    found = re.search(rf'<textarea id="f-{field}"[^>]*>\n(.*?)</textarea>', page, re.DOTALL)
    assert found, f"no field {field}"
    return html.unescape(found.group(1))


def form(**values: str) -> dict[str, str]:
    base = {"name": "", "nature": "commercial", "channel": "sms", "sender": "MLUMIERE",
            "text": TEXT_A, "categories": "", "professions": "", "tags": "", "start": "",
            "send_by": "", "transaction_field": "", "variant_b": "", "variant_c": "",
            "variant_d": "", "test_share": "20", "winner_by": "optouts",
            "test_hours": "4"}  # fmt: skip
    return {**base, **values}


def ab_test_of(web: WebApp, name: str) -> dict[str, Any] | None:
    shown: dict[str, Any] = web.cli(
        "campaign", "status", name, "--advertiser", HOME, "--json"
    ).json()
    test: dict[str, Any] | None = shown["ab_test"]
    return test


# --- in Chromium: from the editor to the winner ---------------------------------------------


def test_a_marketer_tests_two_texts_from_the_editor_to_the_winner(
    web: WebApp, browser: Browser, tmp_path: Path
) -> None:
    name, tag = "Lampes A/B", "lampesab"
    import_contacts(web, tmp_path, tag, 24)
    page = browser.signed_in(web, MARKETER)
    page.goto(web.url + CAMPAIGNS + "/new")
    page.get_by_label("Nom").fill(name)
    page.get_by_label("Texte du message").fill(TEXT_A)
    page.get_by_label("Étiquettes").fill(tag)
    test = page.get_by_role("region", name="Test A/B")
    expect(test.get_by_role("group", name="Les variantes testées")).to_be_visible()
    # Each variant has its live counter: the message as it will leave, STOP mention included.
    test.get_by_label("Variante B").fill(TEXT_B)
    counter = page.locator("#counter-variant_b")
    expect(counter).to_contain_text(f"{len(TEXT_B + STOP)} caractères")
    expect(counter).to_contain_text("GSM-7")
    test.get_by_label("Variante C").fill(TEXT_C + " C’est le moment")  # a curly apostrophe
    expect(page.locator("#counter-variant_c")).to_contain_text("UCS-2")
    test.get_by_label("Variante C").fill("")  # left empty: no variant C
    expect(page.locator("#counter-variant_c")).to_have_text("")
    # Without a short link in the text, the winner is chosen by opt-outs unless said.
    expect(test.get_by_label("Le gagnant est la variante qui a")).to_have_value("optouts")
    test.get_by_label("Part de l'audience testée, en pourcentage").fill("50")
    test.get_by_label("Durée du test (heures)").fill("1,5")
    browser.check(page, "ab_test-editor")
    page.get_by_role("button", name="Créer la campagne").last.click()
    expect(page.get_by_role("status")).to_contain_text("La campagne est créée")
    expect(page.get_by_label("Variante B")).to_have_value(TEXT_B)
    expect(page.get_by_label("Variante C")).to_have_value("")
    expect(page.get_by_label("Part de l'audience testée, en pourcentage")).to_have_value("50")
    expect(page.get_by_label("Durée du test (heures)")).to_have_value("1,5")
    row = campaign_row(web, name)
    assert (row.variants, row.test_share, row.winner_by, row.test_minutes) == (
        [TEXT_B],
        50,
        "optouts",
        90,
    )
    cid = int(row.id)

    # The plan report: how many recipients test each variant, and how many wait.
    page.goto(web.url + f"{CAMPAIGNS}/{cid}/plan")
    page.get_by_role("button", name="Planifier la campagne").click()
    page.get_by_role("heading", name="Décisions").wait_for(timeout=60_000)
    drawn = campaign_row(web, name).plan_summary["ab_test"]
    assert drawn["variants"] == 2 and sum(drawn["test"].values()) + drawn["rest"] == 24
    assert drawn["rest"] > 0  # 24 recipients, half of them tested: some wait
    region = page.get_by_role("region", name="Test A/B")
    expect(region).to_contain_text("50\u202f% des destinataires, tirés au hasard")
    expect(region).to_contain_text("1,5 h après le premier message du test")
    expect(region).to_contain_text("la variante qui a le moins de désinscriptions")
    table = region.get_by_role("table", name="Destinataires de chaque variante dans le test")
    for label in ("A", "B"):
        cells = table.get_by_role("row", name=f"Variante {label}, dans le test").get_by_role("cell")
        expect(cells.first).to_have_text(str(drawn["test"][label]))
    rest = table.get_by_role("row", name="Le reste, en attente du gagnant").get_by_role("cell")
    expect(rest.first).to_have_text(str(drawn["rest"]))
    browser.check(page, "ab_test-plan")

    # Launched: the test's messages are queued, the rest held; the page shows the test.
    page.get_by_role("link", name="Vérifier et lancer").click()
    page.get_by_label("Tapez le nom de la campagne pour confirmer").fill(name)
    page.get_by_role("button", name=re.compile("^Lancer : envoyer")).click()
    page.get_by_role("status").filter(has_text="Lancée").wait_for()
    box = page.get_by_role("region", name="Test A/B")
    figures = box.get_by_role("table", name="Chiffres de chaque variante dans le test")
    expect(figures.get_by_role("row")).to_have_count(3)
    for label in ("A", "B"):  # the messages of each variant: its recipients in the test
        cells = figures.get_by_role("row", name=f"Variante {label}").get_by_role("cell")
        expect(cells.first).to_have_text(str(drawn["test"][label]))
    expect(box).to_contain_text("Rien du test n'est encore envoyé : aucune variante n'est en tête.")
    expect(box).to_contain_text("Le test se termine le")
    expect(box).to_contain_text(
        f"Le reste de l'audience : {drawn['rest']} messages, dont {drawn['rest']} en attente"
    )
    assert {r.state for r in rest_of(web, cid)} == {"held"}
    browser.check(page, "ab_test-launched")

    # B sent to the rest now: its held messages queued with B's text, their plan rows too.
    box.get_by_role("radio", name="Variante B").check()
    box.get_by_role("button", name="Envoyer cette variante au reste de l'audience").click()
    expect(page.get_by_role("status")).to_contain_text("Le gagnant est choisi")
    box = page.get_by_role("region", name="Test A/B")
    expect(box).to_contain_text("Gagnante : variante B, choisie à la main le")
    expect(box.get_by_role("radio")).to_have_count(0)
    browser.check(page, "ab_test-winner")
    # The rest is written by a job the server starts a runner for (a large one takes longer
    # than a request): its messages queued within seconds.
    deadline = time.monotonic() + 60
    while campaign_row(web, name).rest_released_at is None and time.monotonic() < deadline:
        time.sleep(0.2)
    rest_rows = rest_of(web, cid)
    assert len(rest_rows) == drawn["rest"]
    assert {(r.state, r.text, r.variant) for r in rest_rows} == {("queued", TEXT_B + STOP, "B")}
    after = campaign_row(web, name)
    assert after.winner == "B" and after.rest_released_at is not None
    assert after.winner_figures["by"] == "hand"

    # Launched, the campaign is shown without a form, its test with it.
    page.goto(web.url + f"{CAMPAIGNS}/{cid}/edit")
    expect(page.get_by_role("textbox")).to_have_count(0)
    shown = page.get_by_role("region", name="Test A/B")
    expect(shown.get_by_role("heading", name="Variante B")).to_be_visible()
    expect(shown).to_contain_text(TEXT_B)
    expect(shown).to_contain_text("50\u202f%")
    expect(shown).to_contain_text("1,5 h")
    expect(shown).to_contain_text("le moins de désinscriptions")
    expect(shown.locator(".counter-summary")).to_contain_text(f"{len(TEXT_B + STOP)} caractères")
    browser.check(page, "ab_test-view")

    # Chosen once: a second choice is refused in French, nothing changes.
    client = web.client(MARKETER)
    again = web.post_form(
        client, f"{CAMPAIGNS}/{cid}/winner", {"variant": "A"}, page=f"{CAMPAIGNS}/{cid}"
    )
    assert again.status_code == 409
    assert said("winner_chosen", "") in html.unescape(again.text)
    assert campaign_row(web, name).winner == "B"


# --- the editor over HTTP -------------------------------------------------------------------


def test_a_refused_setting_is_said_beside_its_field_and_nothing_is_recorded(web: WebApp) -> None:
    client = web.client(MARKETER)
    name = "Part nulle"
    typed = form(name=name, variant_b=TEXT_B, test_share="0", test_hours="2,5")
    answer = web.post_form(client, CAMPAIGNS + "/new", typed)
    assert answer.status_code == 422
    assert error_beside(answer.text, "test_share") == said("test_share_range", "test_share")
    assert "La part testée est un pourcentage de 1 à 100." in answer.text
    assert 'aria-invalid="true"' in answer.text
    # Every value typed stays.
    assert textarea(answer.text, "variant_b") == TEXT_B
    assert 'id="f-test_hours" name="test_hours" type="text" value="2,5"' in answer.text
    assert campaign_row(web, name) is None
    # What the form itself cannot read, and a variant's own refusal beside that variant: C is
    # the second text written (B left empty), the use case's `variants[1]`.
    worse = form(
        name=name, variant_c=TEXT_B, variant_d=TEXT_A, test_share="vingt", test_hours="deux"
    )
    refused = web.post_form(client, CAMPAIGNS + "/new", worse)
    assert refused.status_code == 422
    unread = drafts.TEXTS["test_share_range"].format(value="vingt")
    assert error_beside(refused.text, "test_share") == said("test_share_range", "", unread)
    hours = drafts.TEXTS["invalid_hours"].format(value="deux")
    assert error_beside(refused.text, "test_hours") == said("invalid_hours", "", hours)
    assert "écrivez 4, ou 1,5 pour une heure et demie" in refused.text
    assert error_beside(refused.text, "variant_d") == said("variant_same_text", "variants[1]")
    assert 'id="f-variant_b-error"' not in refused.text
    assert 'id="f-variant_c-error"' not in refused.text
    assert campaign_row(web, name) is None


def test_the_settings_without_a_variant_are_ignored_and_an_edit_removes_the_test(
    web: WebApp,
) -> None:
    client = web.client(MARKETER)
    plain = web.post_form(
        client, CAMPAIGNS + "/new", form(name="Sans test", test_share="0", test_hours="x")
    )
    assert plain.status_code == 303, plain.text
    assert ab_test_of(web, "Sans test") is None
    # Created with C only (B empty): it is variant B, the hours in French, by clicks.
    linked = "Maison Lumière : -20% {link:https://maisonlumiere.fr/soldes}"
    created = web.post_form(
        client, CAMPAIGNS + "/new",
        form(name="Avec test", text=linked, variant_c=linked.replace("20", "30"),
             test_share="", winner_by="clicks", test_hours="1.25"),
    )  # fmt: skip
    assert created.status_code == 303, created.text
    test = ab_test_of(web, "Avec test")
    assert test is not None
    assert test["variants"] == [linked.replace("20", "30")]
    assert (test["test_share"], test["winner_by"], test["test_minutes"]) == (20, "clicks", 75)
    edit = created.headers["location"].split("?")[0]
    page = client.get(edit)
    assert textarea(page.text, "variant_b") == linked.replace("20", "30")
    assert textarea(page.text, "variant_c") == ""
    assert 'value="1,25"' in page.text
    assert re.search(r'<option value="clicks" selected>', page.text)
    # Every variant emptied: the test is removed, its settings ignored.
    removed = web.post_form(client, edit, form(text=linked, test_share="0"), page=edit)
    assert removed.status_code == 303, removed.text
    assert ab_test_of(web, "Avec test") is None


def test_each_variant_has_its_own_counter(web: WebApp) -> None:
    client = web.client(MARKETER)
    typed = form(variant_b="C’est l’été", variant_d=TEXT_C)
    for index, text in ((0, "C’est l’été"), (2, TEXT_C)):
        answer = web.post_form(
            client, f"{CAMPAIGNS}/counter?variant={index}", typed, page=CAMPAIGNS + "/new"
        )
        assert answer.status_code == 200
        counted = count_text(text + STOP)
        assert counted.encoding in answer.text
        assert f"{len(text + STOP)} caractères" in answer.text
        assert "hx-swap-oob" not in answer.text  # the variant's counter alone
    empty = web.post_form(client, f"{CAMPAIGNS}/counter?variant=1", typed, page=CAMPAIGNS + "/new")
    assert empty.status_code == 200 and "caractère" not in empty.text
    beyond = web.post_form(client, f"{CAMPAIGNS}/counter?variant=3", typed, page=CAMPAIGNS + "/new")
    assert beyond.status_code == 422


# --- who may end a test ---------------------------------------------------------------------


def test_a_viewer_sees_the_test_and_cannot_end_it(
    web: WebApp, browser: Browser, tmp_path: Path
) -> None:
    name = "Test en lecture"
    cid = launched(web, tmp_path, name, "lectureab", TEXT_B, TEXT_C)
    viewer = web.client(VIEWER)
    overview = viewer.get(f"{CAMPAIGNS}/{cid}")
    assert overview.status_code == 200
    assert "Chiffres de chaque variante dans le test" in overview.text
    assert f'action="{CAMPAIGNS}/{cid}/winner"' not in overview.text
    token = csrf_of(viewer.get("/account").text)
    refused = viewer.post(f"{CAMPAIGNS}/{cid}/winner", data={"variant": "B", "csrf_token": token})
    assert refused.status_code == 403
    row = campaign_row(web, name)
    assert row.winner is None and row.rest_released_at is None
    page = browser.signed_in(web, VIEWER)
    page.goto(web.url + f"{CAMPAIGNS}/{cid}")
    box = page.get_by_role("region", name="Test A/B")
    expect(
        box.get_by_role("table", name="Chiffres de chaque variante dans le test")
    ).to_be_visible()
    expect(box.get_by_role("row")).to_have_count(4)  # the header, A, B and C
    expect(box.get_by_role("radio")).to_have_count(0)
    expect(
        box.get_by_role("button", name="Envoyer cette variante au reste de l'audience")
    ).to_have_count(0)
    browser.check(page, "ab_test-viewer")
    # A marketer may: a variant the test does not have is refused in French.
    marketer = web.client(MARKETER)
    unknown = web.post_form(
        marketer, f"{CAMPAIGNS}/{cid}/winner", {"variant": "D"}, page=f"{CAMPAIGNS}/{cid}"
    )
    assert unknown.status_code == 422
    assert said("unknown_variant", "variant") in html.unescape(unknown.text)
    assert campaign_row(web, name).winner is None


def test_another_advertisers_account_cannot_end_a_test(web: WebApp, tmp_path: Path) -> None:
    assert ("POST", "/a/{slug}/campaigns/{campaign_id}/winner") in advertiser_routes()
    name = "Test d'un autre"
    cid = launched(web, tmp_path, name, "autreab", TEXT_B)
    stranger = web.client(STRANGER)
    assert stranger.get(f"{CAMPAIGNS}/{cid}").status_code == 404
    token = csrf_of(stranger.get(f"/a/{OTHER}/").text)
    for path in (f"{CAMPAIGNS}/{cid}/winner", f"/a/{OTHER}/campaigns/{cid}/winner"):
        answer = stranger.post(path, data={"variant": "B", "csrf_token": token})
        assert answer.status_code == 404, path
        assert TEXT_B not in answer.text and name not in html.unescape(answer.text)
    assert campaign_row(web, name).winner is None
    # And a campaign without a test has no winner to choose: not found either.
    marketer = web.client(MARKETER)
    plain = launched(web, tmp_path, "Sans variante", "sansvariante")
    answer = web.post_form(
        marketer, f"{CAMPAIGNS}/{plain}/winner", {"variant": "B"}, page=f"{CAMPAIGNS}/{plain}"
    )
    assert answer.status_code == 404
