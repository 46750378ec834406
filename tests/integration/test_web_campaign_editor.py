"""The campaign list and editor: a marketer writes a campaign in Chromium and watches the live
counter (encoding, parts) change when a curly apostrophe is typed and replaced by its GSM-7
equivalent in one click; over HTTP, refusals beside their fields in French with every value
kept, the counter's figures (the core's, STOP mention included), the phone preview for a
contact, the sending windows by territory; a viewer reads and changes nothing (403); another
advertiser's marketer finds nothing (404). axe-core on every page."""

import html
import re

import httpx
import pytest
from markupsafe import escape
from playwright.sync_api import expect

from tambour.services import campaign_definition as definition
from tambour.services import campaign_drafts as drafts
from tambour.services import campaign_edit, campaign_preview, campaigns
from tambour.services import contacts as contact_service
from tambour.services.context import Problem
from tambour.sms.text import count_text
from tambour.web import refusals
from tests.dispatch_setup import mobile, write_contacts
from tests.integration.web_app import WebApp
from tests.integration.web_browser import Browser

HOME = "/a/maison-lumiere"
CAMPAIGNS = HOME + "/campaigns"
MARKETER = "marketer@maison-lumiere.fr"
VIEWER = "viewer@maison-lumiere.fr"
STRANGER = "marketer@copie.fr"
TEXT = "Maison Lumière : -20% sur nos luminaires ce week-end, {first_name|chers clients}."


def _form(**values: str) -> dict[str, str]:
    base = {"name": "", "nature": "commercial", "channel": "sms", "sender": "MLUMIERE",
            "text": TEXT, "categories": "luminaires", "professions": "", "tags": "",
            "start": "", "send_by": "", "transaction_field": ""}  # fmt: skip
    return {**base, **values}


def _create(web: WebApp, client: httpx.Client, name: str, **values: str) -> int:
    answer = web.post_form(client, CAMPAIGNS + "/new", _form(name=name, **values))
    assert answer.status_code == 303, answer.text
    found = re.fullmatch(rf"{CAMPAIGNS}/(\d+)/edit\?saved=created", answer.headers["location"])
    assert found, answer.headers["location"]
    return int(found.group(1))


def _counter(web: WebApp, client: httpx.Client, **values: str) -> str:
    answer = web.post_form(client, CAMPAIGNS + "/counter", _form(**values), page=CAMPAIGNS + "/new")
    assert answer.status_code == 200, answer.text
    return answer.text


def _error_beside(page: str, field: str) -> str:
    found = re.search(rf'<p class="error" id="f-{field}-error">([^<]*)</p>', page)
    assert found, f"no error beside {field}"
    return html.unescape(found.group(1))


def _field_value(page: str, field: str) -> str:
    found = re.search(rf'<input id="f-{field}" name="{field}" type="[^"]+" value="([^"]*)"', page)
    assert found, f"no field {field}"
    return html.unescape(found.group(1))


def _textarea(page: str) -> str:
    found = re.search(r'<textarea id="f-text"[^>]*>\n(.*?)</textarea>', page, re.DOTALL)
    assert found
    return html.unescape(found.group(1))


def test_a_marketer_creates_a_campaign_and_finds_it_in_the_list(web: WebApp) -> None:
    client = web.client(MARKETER)
    page = client.get(CAMPAIGNS + "/new")
    assert page.status_code == 200
    assert (
        "Nouvelle campagne" in page.text
        and 'hx-post="/a/maison-lumiere/campaigns/counter"' in page.text
    )
    campaign_id = _create(web, client, "Soldes d'hiver", tags="vip; newsletter",
                          start="2031-01-14T09:30")  # fmt: skip
    edited = client.get(f"{CAMPAIGNS}/{campaign_id}/edit?saved=created")
    assert edited.status_code == 200
    assert "La campagne est créée" in edited.text
    assert _textarea(edited.text) == TEXT
    assert _field_value(edited.text, "tags") == "vip; newsletter"
    assert _field_value(edited.text, "start") == "2031-01-14T09:30"
    assert f'href="{CAMPAIGNS}/{campaign_id}/plan"' in edited.text
    listed = client.get(CAMPAIGNS)
    assert listed.status_code == 200
    assert "Soldes d&#39;hiver" in listed.text and f"{CAMPAIGNS}/{campaign_id}/edit" in listed.text
    assert "brouillon" in listed.text
    # The CLI sees the very campaign the page made.
    shown = web.cli("campaign", "status", "Soldes d'hiver", "--advertiser", "maison-lumiere",
                    "--json").json()  # fmt: skip
    assert shown["tags"] == ["vip", "newsletter"]
    assert shown["start"].startswith("2031-01-14T08:30")  # 09:30 in Paris is UTC+1


STOP = " STOP au 36111"  # the mention the advertiser's messages carry (tests/integration/cli.py)


@pytest.fixture(scope="module")
def contacts(web: WebApp, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Three consenting contacts of Maison Lumière (first names Léa0, Léa1, Léa2; a custom
    field `commande`), imported once for the module's server."""
    numbers = [mobile(i) for i in range(3)]
    path = write_contacts(tmp_path_factory.mktemp("contacts") / "contacts.csv", numbers)
    web.cli("contacts", "import", str(path), "--advertiser", "maison-lumiere")
    return numbers


def _said(code: str, field: str, message: str = "") -> str:
    """The French text the page shows for a refusal (web/refusals.py, the server's own)."""
    return refusals.problem_text(Problem(field, code, message), "fr")


def _status(web: WebApp, name: str) -> dict[str, object]:
    found: dict[str, object] = web.cli(
        "campaign", "status", name, "--advertiser", "maison-lumiere", "--json"
    ).json()
    return found


# --- refusals beside their fields, nothing typed lost -------------------------------------


def test_refusals_are_said_in_french_beside_their_fields_with_every_value_kept(
    web: WebApp,
) -> None:
    client = web.client(MARKETER)
    long_text = "Maison Lumière : " + "luminaires -20% " * 100
    typed = _form(
        name="", sender="NOTMINE", text=long_text, tags="vip; fidèles", categories="luminaires",
        start="demain matin", send_by="2031-02-01T18:00",
    )  # fmt: skip
    answer = web.post_form(client, CAMPAIGNS + "/new", typed)
    assert answer.status_code == 422
    page = answer.text
    assert '<html lang="fr">' in page and "Traceback" not in page
    assert "Certaines valeurs sont refusées" in page
    assert _error_beside(page, "name") == _said(
        "name_required", "name", definition.TEXTS["name_required"]
    )
    unknown = campaigns.TEXTS["unknown_sender"].format(
        value="NOTMINE", slug="maison-lumiere", known="MLUMIERE", stop_number="36111"
    )
    assert _error_beside(page, "sender") == _said("unknown_sender", "sender", unknown)
    parts = count_text(long_text.removesuffix(" ") + " " + STOP.strip()).segments
    assert parts > 10
    assert _error_beside(page, "text") == _said(
        "text_too_long", "text",
        f"the text takes {parts} parts with its STOP mention, before any personalized value: "
        "a message of more than 10 parts is blocked; shorten it",
    )  # fmt: skip
    assert str(parts) in _error_beside(page, "text")
    invalid = drafts.TEXTS["invalid_instant"].format(value="demain matin")
    assert _error_beside(page, "start") == _said("invalid_instant", "start", invalid)
    # Nothing typed is lost: the text, the lists, the instants, even the refused sender.
    assert _textarea(page) == long_text
    assert _field_value(page, "tags") == "vip; fidèles"
    assert _field_value(page, "start") == "demain matin"
    assert _field_value(page, "send_by") == "2031-02-01T18:00"
    assert '<option value="NOTMINE" selected>' in page
    # The counter says it too, beside the text.
    assert "un message de plus de 10 SMS est bloqué" in page or "10" in page
    # Nothing was created.
    assert "demain matin" not in client.get(CAMPAIGNS).text


def test_a_name_taken_and_a_past_deadline_are_refused_beside_their_fields(web: WebApp) -> None:
    client = web.client(MARKETER)
    _create(web, client, "Nom pris")
    answer = web.post_form(client, CAMPAIGNS + "/new", _form(name="Nom pris"))
    assert answer.status_code == 409
    exists = campaigns.TEXTS["campaign_exists"].format(slug="maison-lumiere", name="Nom pris")
    assert _error_beside(answer.text, "name") == _said("campaign_exists", "name", exists)
    assert _field_value(answer.text, "name") == "Nom pris"
    late = web.post_form(
        client, CAMPAIGNS + "/new", _form(name="Trop tard", send_by="2001-01-01T10:00")
    )
    assert late.status_code == 422
    past = definition.TEXTS["send_by_past"].format(send_by="2001-01-01T09:00:00+00:00")
    assert _error_beside(late.text, "send_by") == _said("send_by_past", "send_by", past)
    transactional = web.post_form(
        client, CAMPAIGNS + "/new", _form(name="Sans transaction", nature="transactional",
                                          text="Votre commande est prête.")
    )  # fmt: skip
    assert transactional.status_code == 422
    assert _error_beside(transactional.text, "transaction_field") == _said(
        "transaction_required", "transaction_field", definition.TEXTS["transaction_required"]
    )


# --- the counter: the core's figures, the STOP mention, GSM-7 alternatives ------------------


def _summary(fragment: str) -> str:
    """The counter's summary (the fragment's first part, before the details swapped out of
    band), as text."""
    head = fragment.split('<div id="counter-details"', 1)[0]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", head)).split())


def test_the_counter_counts_the_message_as_it_will_leave(web: WebApp) -> None:
    client = web.client(MARKETER)
    text = "Maison Lumière : -20% sur les lampes ce week-end"
    final = text + STOP
    gsm = count_text(final)
    assert (gsm.encoding, gsm.segments) == ("GSM-7", 1)
    fragment = _counter(web, client, text=text)
    summary = _summary(fragment)
    assert summary.startswith("GSM-7")
    assert f"{len(final)} caractères" in summary and "1 SMS" in summary
    assert f"{160 - len(final)} caractères restants dans ce SMS" in summary
    # The message as it will leave: the STOP mention appended, marked.
    assert '<mark class="stop"> STOP au 36111</mark>' in fragment
    assert "La mention « STOP au 36111 » est ajoutée" in fragment
    assert "identifié par son émetteur, MLUMIERE" in fragment
    # A curly apostrophe turns the whole message into UCS-2: 70 a part, so two parts.
    curly = "Maison Lumière : -20% sur les lampes ce week-end, c’est maintenant"
    ucs2 = count_text(curly + STOP)
    assert (ucs2.encoding, ucs2.segments) == ("UCS-2", 2)
    fragment = _counter(web, client, text=curly)
    summary = _summary(fragment)
    assert summary.startswith("UCS-2") and "2 SMS" in summary
    assert f"{67 - ucs2.units_per_segment[-1]} caractères restants" in summary
    assert '<code class="char">’</code> <span class="hint">U+2019</span>' in fragment
    assert '<code class="char">&#39;</code>' in fragment  # its GSM-7 equivalent
    assert "Remplacer par l'équivalent GSM-7" in fragment
    # Without a STOP number of its own, a text that says STOP is blocked; a transactional one
    # gets no mention at all.
    fragment = _counter(web, client, text="Votre commande est prête.", nature="transactional",
                        transaction_field="commande")  # fmt: skip
    assert "aucune mention STOP n'est ajoutée" in fragment
    assert '<mark class="stop">' not in fragment
    # A sender that names no brand, and a text that names nobody: the plan would be blocked.
    fragment = _counter(web, client, text="-20% ce week-end", sender="36111")
    assert "serait bloqué" in fragment and "L&#39;annonceur n&#39;est pas identifié" in fragment


def test_the_gsm7_equivalents_replace_every_character_that_forces_ucs2(web: WebApp) -> None:
    client = web.client(MARKETER)
    typed = "Maison Lumière : « l’été » – c’est maintenant… 🎉 à 10 h"
    # The htmx swap: the text field with the equivalents, and the new counter out of band.
    answer = web.post_form(client, CAMPAIGNS + "/gsm7", _form(text=typed), page=CAMPAIGNS + "/new")
    assert answer.status_code == 200
    replaced = "Maison Lumière : \" l'été \" - c'est maintenant... 🎉 à 10 h"
    assert _textarea(answer.text) == replaced
    assert 'hx-swap-oob="innerHTML"' in answer.text and "UCS-2" in answer.text  # the emoji stays
    assert "aucun : retirez-le pour rester en GSM-7" in answer.text
    # Without JavaScript: the button sends the whole form, which comes back changed, unsaved.
    plain = web.post_form(
        client, CAMPAIGNS + "/new",
        {**_form(name="Sans JavaScript", text="C’est l’été", tags="vip"), "action": "gsm7"},
    )  # fmt: skip
    assert plain.status_code == 200
    assert _textarea(plain.text) == "C'est l'été"
    assert _field_value(plain.text, "name") == "Sans JavaScript"
    assert _field_value(plain.text, "tags") == "vip"
    assert _summary(plain.text.split('id="counter-summary"', 1)[1].split(">", 1)[1]).startswith(
        "GSM-7"
    )
    assert "Sans JavaScript" not in client.get(CAMPAIGNS).text  # nothing recorded


def test_the_phone_preview_shows_a_contacts_own_message(web: WebApp, contacts: list[str]) -> None:
    client = web.client(MARKETER)
    new = client.get(CAMPAIGNS + "/new").text
    # The personalization fields of the contacts, and the contacts to preview for.
    assert "<code>{first_name}</code>" in new and "<code>{commande}</code>" in new
    options = {
        html.unescape(label): value
        for value, label in re.findall(r'<option value="(\d+)">([^<]*)</option>', new)
    }
    chosen = options[f"Léa1 · {contacts[1]}"]
    text = "Bonjour {first_name}, votre commande {commande} vous attend chez Maison Lumière."
    fragment = _counter(web, client, text=text, preview_contact=chosen)
    expected = "Bonjour Léa1, votre commande CMD-1 vous attend chez Maison Lumière." + STOP
    assert html.unescape(re.sub(r"<[^>]+>", "", re.search(
        r'<p class="bubble">(.*?)</p>', fragment, re.DOTALL).group(1))) == expected  # fmt: skip
    assert f"Le message pour Léa1 ({contacts[1]})" in fragment
    assert f"{len(expected)} caractères" in fragment
    # By its number, in any notation.
    national = "0" + contacts[2].removeprefix("+33")
    fragment = _counter(web, client, text=text, number=national)
    assert "Bonjour Léa2, votre commande CMD-2" in fragment
    # A number that is not one, or no contact: said beside the number's field.
    fragment = _counter(web, client, text=text, number="12")
    not_one = contact_service.TEXTS["invalid_phone"].format(number="12")
    assert str(escape(_said("invalid_phone", "number", not_one))) in fragment
    fragment = _counter(web, client, text=text, number="0699999999")
    nobody = campaign_preview.TEXTS["contact_not_found"].format(
        slug="maison-lumiere", e164="+33699999999"
    )
    assert str(escape(_said("contact_not_found", "number", nobody))) in fragment
    # A placeholder without value nor default is said for that contact.
    fragment = _counter(web, client, text="Bonjour {surnom}", preview_contact=chosen)
    assert "Aucune valeur pour surnom" in fragment


def test_the_schedule_explains_the_windows_of_each_territory(web: WebApp) -> None:
    client = web.client(MARKETER)
    # Wednesday 30 April 2031, 19:30 in Paris; Thursday 1 May is a public holiday everywhere.
    answer = web.post_form(
        client, CAMPAIGNS + "/schedule",
        _form(start="2031-04-30T19:30", send_by="2031-05-03T12:00"), page=CAMPAIGNS + "/new",
    )  # fmt: skip
    assert answer.status_code == 200
    rows = {
        html.unescape(re.sub(r"<[^>]+>", "", row.split("</th>", 1)[0])).strip(): row
        for row in answer.text.split('<th scope="row">')[1:]
    }
    metropole, reunion = rows["France métropolitaine"], rows["La Réunion"]
    assert "30 avr. 2031 à 19:30" in metropole and "ouverte" in metropole
    assert "tout de suite, jusqu'au 30 avr. 2031 à 20:00" in metropole
    assert "jeudi 1 mai 2031 : Fête du Travail" in metropole
    # 21:30 in Réunion: closed; the next window is 2 May (1 May is a holiday there too).
    assert "30 avr. 2031 à 21:30" in reunion and "fermée" in reunion
    assert "2 mai 2031 à 08:00" in reunion
    polynesia = next(row for name, row in rows.items() if name.startswith("Polynésie française"))
    assert "3 fuseaux horaires" in polynesia and "30 avr. 2031 à 07:30" in polynesia
    assert len(rows) == 13
    transactional = web.post_form(
        client, CAMPAIGNS + "/schedule", _form(nature="transactional"), page=CAMPAIGNS + "/new"
    )
    assert "ne connaît pas de plage d'envoi" in transactional.text


# --- editing ----------------------------------------------------------------------------------


def test_editing_a_planned_campaign_drops_its_plan(web: WebApp, contacts: list[str]) -> None:
    client = web.client(MARKETER)
    campaign_id = _create(web, client, "A replanifier")
    web.cli.blocked_or_not("campaign", "plan", "A replanifier", "--advertiser", "maison-lumiere",
                           "--json")  # fmt: skip
    assert _status(web, "A replanifier")["status"] == "planned"
    page = client.get(f"{CAMPAIGNS}/{campaign_id}/edit").text
    assert "enregistrer une modification supprime son plan" in page
    edited = web.post_form(
        client, f"{CAMPAIGNS}/{campaign_id}/edit",
        _form(name="ignored", text=TEXT + " Vite !", tags="vip"),
    )  # fmt: skip
    assert edited.status_code == 303
    assert edited.headers["location"] == f"{CAMPAIGNS}/{campaign_id}/edit?saved=replanned"
    shown = _status(web, "A replanifier")  # a campaign keeps its name
    assert shown["status"] == "draft" and shown["text"] == TEXT + " Vite !"
    assert shown["tags"] == ["vip"]
    same = web.post_form(
        client, f"{CAMPAIGNS}/{campaign_id}/edit", _form(text=TEXT + " Vite !", tags="vip")
    )
    assert same.headers["location"] == f"{CAMPAIGNS}/{campaign_id}/edit?saved=unchanged"


def test_a_launched_campaign_is_shown_without_a_form(web: WebApp, contacts: list[str]) -> None:
    client = web.client(MARKETER)
    campaign_id = _create(web, client, "Partie")
    web.cli.blocked_or_not("campaign", "plan", "Partie", "--advertiser", "maison-lumiere", "--json")
    web.cli("campaign", "launch", "Partie", "--advertiser", "maison-lumiere")
    page = client.get(f"{CAMPAIGNS}/{campaign_id}/edit")
    assert page.status_code == 200
    assert 'id="campaign-form"' not in page.text and "<textarea" not in page.text
    assert "Une campagne lancée ou annulée ne change plus" in page.text
    assert f'href="{CAMPAIGNS}/{campaign_id}"' in page.text
    refused = web.post_form(client, f"{CAMPAIGNS}/{campaign_id}/edit", _form(text="Autre"),
                            page=f"{CAMPAIGNS}/{campaign_id}/edit")  # fmt: skip
    assert refused.status_code == 409
    launched = campaign_edit.TEXTS["campaign_launched"].format(
        name="Partie", status="launched", doing="edited"
    )
    assert str(escape(_said("campaign_launched", "", launched))) in refused.text
    assert _status(web, "Partie")["text"] == TEXT
    listed = client.get(CAMPAIGNS).text
    assert f'<a href="{CAMPAIGNS}/{campaign_id}">Partie</a>' in listed


def test_the_list_is_newest_first_by_pages_and_by_state(web: WebApp) -> None:
    client = web.client(MARKETER)
    older = _create(web, client, "Liste ancienne")
    newer = _create(web, client, "Liste récente")
    listed = client.get(CAMPAIGNS).text
    assert listed.index("Liste récente") < listed.index("Liste ancienne")
    before = client.get(f"{CAMPAIGNS}?before={newer}").text
    assert "Liste ancienne" in before and "Liste récente" not in before
    assert f"{CAMPAIGNS}/{older}/edit" in before
    drafts = client.get(f"{CAMPAIGNS}?status=draft").text
    assert "Liste récente" in drafts and "Campagnes à l'état « brouillon »" in drafts
    assert "Liste récente" not in client.get(f"{CAMPAIGNS}?status=launched").text
    assert client.get(f"{CAMPAIGNS}?status=perdue").status_code == 422


# --- deleting a draft ------------------------------------------------------------------------


def _audited_deletions(web: WebApp) -> list[str]:
    found = web.cli("audit", "list", "--limit", "1000", "--json").json()
    return [e["details"].get("campaign") for e in found if e["action"] == "campaign.delete"]


def test_a_draft_is_deleted_after_its_confirmation_page(web: WebApp) -> None:
    client = web.client(MARKETER)
    campaign_id = _create(web, client, "A supprimer")
    page = client.get(f"{CAMPAIGNS}/{campaign_id}/edit").text
    assert f'href="{CAMPAIGNS}/{campaign_id}/delete"' in page
    assert 'aria-label="Supprimer la campagne A supprimer">Supprimer</a>' in page
    confirm = client.get(f"{CAMPAIGNS}/{campaign_id}/delete")
    assert confirm.status_code == 200
    assert "Supprimer cette campagne ?" in confirm.text and "brouillon" in confirm.text
    assert f'<form method="post" action="{CAMPAIGNS}/{campaign_id}/delete">' in confirm.text
    # Without its CSRF token, nothing happens.
    assert client.post(f"{CAMPAIGNS}/{campaign_id}/delete").status_code == 403
    done = web.post_form(client, f"{CAMPAIGNS}/{campaign_id}/delete", {},
                         page=f"{CAMPAIGNS}/{campaign_id}/delete")  # fmt: skip
    assert done.status_code == 303 and done.headers["location"] == f"{CAMPAIGNS}?saved=deleted"
    listed = client.get(done.headers["location"]).text
    assert "La campagne est supprimée, avec son plan." in listed
    assert f"{CAMPAIGNS}/{campaign_id}/edit" not in listed
    assert client.get(f"{CAMPAIGNS}/{campaign_id}/edit").status_code == 404
    assert client.get(f"{CAMPAIGNS}/{campaign_id}/delete").status_code == 404
    assert "A supprimer" in _audited_deletions(web)
    # Its name serves again.
    _create(web, client, "A supprimer")


def test_a_planned_campaign_is_deleted_a_launched_one_is_refused_in_french(
    web: WebApp, contacts: list[str]
) -> None:
    client = web.client(MARKETER)
    planned = _create(web, client, "Planifiée à supprimer")
    web.cli.blocked_or_not("campaign", "plan", "Planifiée à supprimer", "--advertiser",
                           "maison-lumiere", "--json")  # fmt: skip
    confirm = client.get(f"{CAMPAIGNS}/{planned}/delete").text
    assert "La campagne et son plan sont supprimés" in html.unescape(confirm)
    done = web.post_form(client, f"{CAMPAIGNS}/{planned}/delete", {},
                         page=f"{CAMPAIGNS}/{planned}/delete")  # fmt: skip
    assert done.status_code == 303
    assert client.get(f"{CAMPAIGNS}/{planned}/plan").status_code == 404

    launched = _create(web, client, "Lancée gardée")
    web.cli.blocked_or_not("campaign", "plan", "Lancée gardée", "--advertiser",
                           "maison-lumiere", "--json")  # fmt: skip
    web.cli("campaign", "launch", "Lancée gardée", "--advertiser", "maison-lumiere")
    assert f"{CAMPAIGNS}/{launched}/delete" not in client.get(f"{CAMPAIGNS}/{launched}/edit").text
    shown = client.get(f"{CAMPAIGNS}/{launched}/delete")
    main = shown.text.split("<main", 1)[1]
    assert shown.status_code == 200 and f'action="{CAMPAIGNS}/{launched}/delete"' not in main
    assert "Seule une campagne en brouillon ou planifiée peut être supprimée" in html.unescape(
        shown.text
    )
    token = web.post_form(client, f"{CAMPAIGNS}/{launched}/delete", {},
                          page=f"{CAMPAIGNS}/{launched}/edit")  # fmt: skip
    assert token.status_code == 409
    said = campaign_edit.TEXTS["campaign_launched"].format(
        name="Lancée gardée", status="launched", doing="deleted"
    )
    assert str(escape(_said("campaign_launched", "", said))) in token.text
    assert _status(web, "Lancée gardée")["status"] == "launched"


def test_a_viewer_and_another_advertiser_cannot_delete(web: WebApp) -> None:
    marketer = web.client(MARKETER)
    campaign_id = _create(web, marketer, "Gardée")
    viewer = web.client(VIEWER)
    assert (
        f"{CAMPAIGNS}/{campaign_id}/delete"
        not in viewer.get(f"{CAMPAIGNS}/{campaign_id}/edit").text
    )
    assert viewer.get(f"{CAMPAIGNS}/{campaign_id}/delete").status_code == 403
    refused = web.post_form(viewer, f"{CAMPAIGNS}/{campaign_id}/delete", {}, page=CAMPAIGNS)
    assert refused.status_code == 403
    stranger = web.client(STRANGER)
    assert stranger.get(f"{CAMPAIGNS}/{campaign_id}/delete").status_code == 404
    crossed = web.post_form(stranger, f"/a/copie/campaigns/{campaign_id}/delete", {},
                            page="/a/copie/campaigns")  # fmt: skip
    assert crossed.status_code == 404
    assert _status(web, "Gardée")["status"] == "draft"


# --- roles and tenants ------------------------------------------------------------------------


def test_a_viewer_reads_and_changes_nothing(web: WebApp) -> None:
    marketer = web.client(MARKETER)
    campaign_id = _create(web, marketer, "Vue seulement")
    viewer = web.client(VIEWER)
    listed = viewer.get(CAMPAIGNS)
    assert listed.status_code == 200 and "Vue seulement" in listed.text
    assert f"{CAMPAIGNS}/new" not in listed.text
    assert viewer.get(CAMPAIGNS + "/new").status_code == 403
    shown = viewer.get(f"{CAMPAIGNS}/{campaign_id}/edit")
    assert shown.status_code == 200
    assert '<form id="campaign-form"' not in shown.text and "<textarea" not in shown.text
    assert "Votre rôle vous permet de lire cette campagne, pas de la modifier." in shown.text
    assert "STOP au 36111" in shown.text  # the message as it will leave, all the same
    token_page = CAMPAIGNS  # a page of the viewer's own, for a CSRF token
    for path, data in [
        (CAMPAIGNS + "/new", _form(name="Par un lecteur")),
        (f"{CAMPAIGNS}/{campaign_id}/edit", _form(text="Changé par un lecteur")),
        (CAMPAIGNS + "/gsm7", _form(text="C’est")),
    ]:
        answer = web.post_form(viewer, path, data, page=token_page)
        assert answer.status_code == 403, path
    assert _status(web, "Vue seulement")["text"] == TEXT
    assert "Par un lecteur" not in marketer.get(CAMPAIGNS).text
    # The counter records nothing: a reader may ask it.
    counted = web.post_form(viewer, CAMPAIGNS + "/counter", _form(text="Bonjour"), page=token_page)
    assert counted.status_code == 200 and "GSM-7" in counted.text


def test_another_advertiser_finds_nothing_here(web: WebApp) -> None:
    marketer = web.client(MARKETER)
    campaign_id = _create(web, marketer, "Secrète")
    stranger = web.client(STRANGER)
    for path in [CAMPAIGNS, CAMPAIGNS + "/new", f"{CAMPAIGNS}/{campaign_id}/edit"]:
        assert stranger.get(path).status_code == 404, path
    own = "/a/copie/campaigns"
    token_page = own
    for path in [CAMPAIGNS + "/new", f"{CAMPAIGNS}/{campaign_id}/edit", CAMPAIGNS + "/counter",
                 CAMPAIGNS + "/gsm7", CAMPAIGNS + "/schedule"]:  # fmt: skip
        answer = web.post_form(
            stranger, path, _form(name="Intrus", sender="COPIE"), page=token_page
        )
        assert answer.status_code == 404, path
    # Its own pages: nothing of Maison Lumière's, not even by the campaign's id.
    listed = stranger.get(own)
    assert listed.status_code == 200 and "Secrète" not in listed.text
    assert stranger.get(f"{own}/{campaign_id}/edit").status_code == 404
    assert _status(web, "Secrète")["text"] == TEXT


# --- in Chromium ----------------------------------------------------------------------------


def test_a_marketer_writes_a_campaign_and_watches_the_counter(
    web: WebApp, browser: Browser, contacts: list[str]
) -> None:
    page = browser.signed_in(web, MARKETER)
    page.goto(web.url + CAMPAIGNS)
    page.get_by_role("link", name="Nouvelle campagne").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Nouvelle campagne")
    browser.check(page, "campaign_editor-new")
    page.get_by_label("Nom").fill("Navigateur")
    page.get_by_label("Catégories de produits promues").fill("luminaires")
    summary = page.locator("#counter-summary")
    text = page.get_by_label("Texte du message")
    text.press_sequentially("Maison Lumière : -20% sur les lampes ce week-end, c")
    expect(summary).to_contain_text("GSM-7")
    expect(summary).to_contain_text("1 SMS")
    text.press_sequentially("’est le moment")  # a curly apostrophe
    expect(summary).to_contain_text("UCS-2")
    expect(summary).to_contain_text("2 SMS")
    expect(page.locator("#counter-details")).to_contain_text("Ces caractères font passer")
    browser.check(page, "campaign_editor-ucs2")
    page.get_by_role("button", name="Remplacer par l'équivalent GSM-7").click()
    expect(summary).to_contain_text("GSM-7")
    expect(summary).to_contain_text("1 SMS")
    expect(page.get_by_label("Texte du message")).to_have_value(
        "Maison Lumière : -20% sur les lampes ce week-end, c'est le moment"
    )
    # A personalization field inserted where the cursor is, and the phone preview of a contact.
    box = page.get_by_label("Texte du message")
    box.press("End")
    box.press_sequentially(", ")
    page.get_by_role("button", name="Insérer {first_name}").click()
    expect(box).to_have_value(
        "Maison Lumière : -20% sur les lampes ce week-end, c'est le moment, {first_name}"
    )
    page.get_by_label("Aperçu pour").select_option(label=f"Léa0 · {contacts[0]}")
    expect(page.locator(".bubble")).to_contain_text("c'est le moment, Léa0 STOP au 36111")
    # The schedule follows the start chosen.
    page.get_by_label("Début (heure de Paris)").fill("2031-04-30T19:30")
    page.get_by_label("Début (heure de Paris)").dispatch_event("change")
    expect(page.locator("#schedule")).to_contain_text("Fête du Travail")
    page.get_by_role("button", name="Créer la campagne").last.click()
    expect(page.get_by_role("status")).to_contain_text("La campagne est créée")
    browser.check(page, "campaign_editor-edit")
    page.get_by_role("link", name="Campagnes", exact=True).first.click()
    expect(page.get_by_role("link", name="Navigateur", exact=True)).to_be_visible()
    browser.check(page, "campaign_editor-list")


def test_a_marketer_deletes_a_draft_in_chromium(web: WebApp, browser: Browser) -> None:
    campaign_id = _create(web, web.client(MARKETER), "Brouillon jetable")
    page = browser.signed_in(web, MARKETER)
    page.goto(web.url + f"{CAMPAIGNS}/{campaign_id}/edit")
    page.get_by_role("link", name="Supprimer la campagne Brouillon jetable").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Supprimer « Brouillon jetable »")
    browser.check(page, "campaign-delete")
    page.get_by_role("button", name="Oui, supprimer la campagne").click()
    expect(page.get_by_role("status")).to_contain_text("La campagne est supprimée")
    expect(page.get_by_role("link", name="Brouillon jetable")).to_have_count(0)
    browser.check(page, "campaign-deleted")


def test_a_viewer_reads_a_campaign_in_chromium(web: WebApp, browser: Browser) -> None:
    marketer = web.client(MARKETER)
    campaign_id = _create(web, marketer, "Lecture", text="Maison Lumière : c’est l’été !")
    page = browser.signed_in(web, VIEWER)
    page.goto(web.url + CAMPAIGNS)
    expect(page.get_by_role("link", name="Nouvelle campagne")).to_have_count(0)
    page.get_by_role("link", name="Lecture", exact=True).click()
    expect(page).to_have_url(web.url + f"{CAMPAIGNS}/{campaign_id}/edit")
    expect(page.get_by_role("textbox")).to_have_count(0)
    expect(page.locator(".counter-summary")).to_contain_text("UCS-2")
    browser.check(page, "campaign_editor-view")


def test_the_editor_speaks_english_when_asked(web: WebApp) -> None:
    client = web.client(MARKETER, language="en-GB,en;q=0.9")
    page = client.get(CAMPAIGNS + "/new")
    assert page.status_code == 200 and '<html lang="en">' in page.text
    assert "New campaign" in page.text and "Metropolitan France" in page.text
    fragment = web.post_form(
        client, CAMPAIGNS + "/counter", _form(text="C’est l’été"), page=CAMPAIGNS + "/new"
    ).text
    assert "UCS-2" in fragment and "Replace with the GSM-7 equivalent" in fragment
    assert f"{len('C’est l’été' + STOP)} characters" in fragment
