"""The contacts pages against `tambour serve` (issue 16 point 4): a French file imported by upload
with a column's meaning changed on its first rows, the import as a job (its progress, its result
by reason, its rejects to download), the mapping saved for the next file, a number searched in
national notation to the contact's standing and timeline, opt-outs one by one and by list; a
viewer sees and cannot change, another advertiser sees nothing. Over HTTP for the details, in
Chromium (axe-core on each page) for the path."""

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from tambour.jobs.kinds import contacts_import
from tambour.services import jobs
from tambour.services.context import Context
from tambour.store.engine import make_engine
from tambour.store.tables import advertisers, contacts, import_mappings, suppressions
from tests.integration.web_app import HOME, WebApp, csrf_of
from tests.integration.web_browser import Browser

MARKETER = "marketer@maison-lumiere.fr"
VIEWER = "viewer@maison-lumiere.fr"
STRANGER = "marketer@copie.fr"  # of the other advertiser
BASE = f"/a/{HOME}"
JOB_LINK = re.compile(rf"{BASE}/contacts/imports/(\d+)")
CONSENTED = (datetime.now(UTC) - timedelta(days=40)).strftime("%d/%m/%Y")


@pytest.fixture(scope="module", autouse=True)
def files_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The server's TAMBOUR_FILES_DIR, set before the module's server starts (uploads land
    there, not in the working folder)."""
    folder = tmp_path_factory.mktemp("files")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TAMBOUR_FILES_DIR", str(folder))
        yield folder


def french_file(*numbers: str, bad: str | None = None) -> bytes:
    """A file as a French shop exports it: semicolons, Windows-1252, French headers, one of
    them (`Recueilli via`, the consent's method) a header Tambour does not know."""
    lines = ["Téléphone;Prénom;Consentement SMS;Date consentement;Recueilli via;Ville"]
    names = ("Hélène", "Gaëlle", "Jérôme", "Zoé")
    for index, number in enumerate(numbers):
        lines.append(f"{number};{names[index % 4]};oui;{CONSENTED};formulaire web;Lyon")
    if bad is not None:
        lines.append(f"{bad};Inès;oui;{CONSENTED};formulaire web;Nantes")
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def upload(client: httpx.Client, content: bytes, name: str = "clients.csv") -> httpx.Response:
    token = csrf_of(client.get(f"{BASE}/contacts/import").text)
    return client.post(
        f"{BASE}/contacts/import",
        data={"csrf_token": token},
        files={"file": (name, content, "text/csv")},
    )


def meanings_of(html: str) -> dict[str, str]:
    """The meaning each select of the mapping page proposes, by its name (`column-0`...)."""
    found = {}
    for name, body in re.findall(r'<select id="[^"]+" name="([^"]+)"(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]+)" selected>', body)
        found[name] = chosen.group(1) if chosen else ""
    return found


def wait_for(client: httpx.Client, job_id: int, timeout: float = 90) -> httpx.Response:
    """The job's status fragment once the job is over (the server's own runner takes it)."""
    deadline = time.monotonic() + timeout
    while True:
        status = client.get(f"{BASE}/contacts/imports/{job_id}/status")
        if status.status_code == 286 or time.monotonic() > deadline:
            return status
        assert status.status_code == 200, status.text
        time.sleep(0.3)


def import_file(web: WebApp, client: httpx.Client, content: bytes, **changed: str) -> int:
    """Upload `content`, change the meanings named (header -> meaning), import; the job id."""
    mapping = upload(client, content)
    assert mapping.status_code == 303, mapping.text
    page = client.get(mapping.headers["location"])
    assert page.status_code == 200, page.text
    headers = re.findall(r'<th scope="col" id="h-(\d+)">([^<]*)</th>', page.text)
    chosen = meanings_of(page.text)
    for index, header in headers:
        if header in changed:
            chosen[f"column-{index}"] = changed[header]
    done = client.post(
        mapping.headers["location"], data={**chosen, "csrf_token": csrf_of(page.text)}
    )
    assert done.status_code == 303, done.text
    found = JOB_LINK.fullmatch(done.headers["location"])
    assert found, done.headers["location"]
    return int(found.group(1))


def count_of(web: WebApp, table: object, *where: object) -> int:
    engine = make_engine(web.server.db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                select(func.count()).select_from(table).where(*where)  # type: ignore[arg-type]
            ).scalar_one()
    finally:
        engine.dispose()


# --- import ---------------------------------------------------------------------------------


def test_a_french_file_imported_with_a_column_mapped_on_its_first_rows(web: WebApp) -> None:
    client = web.client(MARKETER)
    content = french_file("06 10 00 00 01", "+33 6 10 00 00 02", "0690 10 00 03", bad="06 12")
    mapping = upload(client, content)
    assert mapping.status_code == 303
    assert re.fullmatch(rf"{BASE}/contacts/import/contacts-[\w-]+", mapping.headers["location"])
    page = client.get(mapping.headers["location"])
    html = page.text
    assert page.status_code == 200 and "Que signifie chaque colonne" in html
    # The first rows, as read (Windows-1252, semicolons), and what Tambour understands.
    assert "Hélène" in html and "0690 10 00 03" in html and "points-virgules" in html
    assert meanings_of(html) == {
        "column-0": "phone", "column-1": "first_name", "column-2": "consent",
        "column-3": "consent_at", "column-4": "field", "column-5": "field",
    }  # fmt: skip
    assert "non reconnue" in html
    # The unknown header is the consent's method: said in the page, then imported.
    job_id = import_file(web, client, content, **{"Recueilli via": "consent_method"})
    status = wait_for(client, job_id)
    assert status.status_code == 286, status.text
    result = unescape(client.get(f"{BASE}/contacts/imports/{job_id}").text)
    assert "Import terminé" in result and "hx-get" not in result  # over: no more polling
    figures = dict(
        re.findall(r'<th scope="row">([^<]+)</th><td class="number">([^<]+)</td>', result)
    )
    assert figures["créés"] == "3" and figures["rejetés"] == "1"
    assert "Numéro de téléphone : n'est pas un numéro de téléphone valide" in result
    # The rejects file, as French Excel opens it, served to the advertiser only.
    rejects = client.get(f"{BASE}/contacts/imports/{job_id}/rejects")
    assert rejects.status_code == 200 and rejects.headers["content-type"].startswith("text/csv")
    assert "attachment" in rejects.headers["content-disposition"]
    text = rejects.content.decode("utf-8-sig")
    assert text.startswith("line;field;reason;") and "06 12" in text and "Inès" in text
    # The meaning given is the advertiser's now: the next file is shown with it.
    again = client.get(upload(client, french_file("06 10 00 00 04")).headers["location"])
    assert meanings_of(again.text)["column-4"] == "consent_method"
    assert "selon votre correspondance enregistrée" in again.text
    saved = client.get(f"{BASE}/contacts/mapping").text
    assert "Recueilli via" in saved and "Méthode de recueil du consentement" in saved


def test_a_mapping_without_phone_or_with_a_column_twice_is_refused_beside_it(
    web: WebApp,
) -> None:
    client = web.client(MARKETER)
    location = upload(client, french_file("06 10 00 00 11")).headers["location"]
    page = client.get(location)
    chosen = meanings_of(page.text)
    token = csrf_of(page.text)
    no_phone = client.post(location, data={**chosen, "column-0": "ignore", "csrf_token": token})
    assert no_phone.status_code == 422
    assert "Aucune colonne n'est le numéro de téléphone" in unescape(no_phone.text)
    assert meanings_of(no_phone.text)["column-0"] == "ignore"  # what was chosen stays
    twice = client.post(location, data={**chosen, "column-1": "phone", "csrf_token": token})
    assert twice.status_code == 422 and 'aria-invalid="true"' in twice.text
    assert "Une autre colonne a déjà cette signification" in twice.text
    # A header Tambour reads by itself cannot be a personalization field while no other
    # column takes its meaning.
    kept = client.post(location, data={**chosen, "column-1": "field", "csrf_token": token})
    assert kept.status_code == 422 and "quoi que vous choisissiez" in kept.text
    assert count_of(web, contacts, contacts.c.e164 == "+33610000011") == 0


def test_bad_uploads_are_refused_in_french(web: WebApp) -> None:
    client = web.client(MARKETER)
    empty = upload(client, b"")
    assert empty.status_code == 422 and "est vide" in empty.text
    workbook = client.get(upload(client, b"PK\x03\x04 an xlsx").headers["location"])
    assert workbook.status_code == 422 and "pas un fichier CSV" in unescape(workbook.text)
    headless = client.get(upload(client, b"0612345678;Paul\r\n").headers["location"])
    assert headless.status_code == 422 and "doit nommer les colonnes" in headless.text
    unknown = client.get(f"{BASE}/contacts/import/contacts-20260101-000000-000000000000")
    assert unknown.status_code == 404


def waiting_import(web: WebApp, files_dir: Path, name: str) -> int:
    """An import job of the advertiser due tomorrow: it stays queued while the tests look."""
    engine = make_engine(web.server.db_url)
    try:
        with engine.connect() as conn:
            home = conn.execute(select(advertisers.c.id).where(advertisers.c.slug == HOME))
            advertiser_id = home.scalar_one()
        waiting = files_dir / name
        waiting.write_bytes(french_file("06 10 00 00 21"))
        ctx = Context(engine=engine, actor="test")
        asked = contacts_import.request(ctx, advertiser=HOME, path=waiting)
        later = datetime.now(UTC) + timedelta(days=1)
        job = jobs.submit(ctx, jobs.JobRequest(asked.kind, advertiser_id, asked.arguments,
                                               due_at=later))  # fmt: skip
    finally:
        engine.dispose()
    return job.id


def test_the_job_page_polls_while_the_import_waits(web: WebApp, files_dir: Path) -> None:
    """A job not due yet stays queued: its page shows the progress bar and polls; without
    JavaScript, a link reloads it."""
    job_id = waiting_import(web, files_dir, "waiting.csv")
    client = web.client(MARKETER)
    page = client.get(f"{BASE}/contacts/imports/{job_id}")
    assert page.status_code == 200 and "En attente" in page.text
    assert f'hx-get="{BASE}/contacts/imports/{job_id}/status"' in page.text
    assert 'hx-trigger="every 1s"' in page.text and "<progress" in page.text
    assert 'aria-valuetext="' in page.text and "Actualiser cette page" in page.text
    status = client.get(f"{BASE}/contacts/imports/{job_id}/status")
    assert status.status_code == 200 and "<progress" in status.text
    assert client.get(f"{BASE}/contacts/imports/{job_id}/rejects").status_code == 404


# --- search and the contact's page ---------------------------------------------------------


def test_a_number_in_national_notation_leads_to_the_contact_and_its_standing(
    web: WebApp,
) -> None:
    client = web.client(MARKETER)
    job_id = import_file(
        web, client, french_file("06 10 00 00 31", "0690 10 00 32"),
        **{"Recueilli via": "consent_method"},
    )  # fmt: skip
    assert wait_for(client, job_id).status_code == 286
    # A campaign launched to every contact queues a message to this one (no worker sends it).
    web.cli.blocked_or_not(
        "campaign", "create", "--advertiser", HOME, "--name", "Soldes d'hiver", "--nature",
        "commercial", "--sender", "MLUMIERE", "--text", "Soldes chez Maison Lumière !", "--json",
    )  # fmt: skip
    web.cli("campaign", "plan", "Soldes d'hiver", "--advertiser", HOME)
    web.cli("campaign", "launch", "Soldes d'hiver", "--advertiser", HOME)
    found = web.post_form(client, f"{BASE}/contacts/search", {"number": "06.10.00.00.31"},
                          page=f"{BASE}/contacts")  # fmt: skip
    assert found.status_code == 303
    location = found.headers["location"]
    assert re.fullmatch(rf"{BASE}/contacts/\d+", location)  # an id, never the number
    page = unescape(client.get(location).text)
    assert "Fiche contact 06 10 00 00 31" in page and "+33610000031" in page
    assert "Consentement préalable" in page and "formulaire web" in page
    assert "Consentement donné" in page and "Europe/Paris" in page
    assert "SMS de « Soldes d'hiver » : en attente d'envoi" in page
    # The commercial verdict says yes on consent; the bases that do not hold say why.
    assert page.count('class="badge ok">Oui</span>') >= 1
    assert "ne s'applique pas" in page or "ne tient pas" in page
    # Overseas: times in the contact's own time zone.
    overseas = web.post_form(client, f"{BASE}/contacts/search", {"number": "+590 690 10 00 32"},
                             page=f"{BASE}/contacts")  # fmt: skip
    assert "America/Guadeloupe" in client.get(overseas.headers["location"]).text
    # Opted out from its page: its evidence and the suppression list say so at once.
    token = csrf_of(client.get(location).text)
    out = client.post(f"{location}/optout", data={"source": "sms_stop", "csrf_token": token})
    assert out.status_code == 303 and out.headers["location"] == f"{location}?saved=optout"
    after = unescape(client.get(out.headers["location"]).text)
    assert "Le numéro est désinscrit" in after and "Sur la liste d'opposition depuis" in after
    assert "Réponse STOP par SMS" in after and "Désinscrire ce contact" not in after
    # In English when asked.
    english = web.client(MARKETER, language="en")
    shown = english.get(location).text
    assert "May this contact receive a message today?" in shown and "Prior consent" in shown
    # Not a contact, or not a number: said beside the field.
    missing = web.post_form(client, f"{BASE}/contacts/search", {"number": "06 99 99 99 98"},
                            page=f"{BASE}/contacts")  # fmt: skip
    assert missing.status_code == 404 and "Aucun contact n'a ce numéro" in unescape(missing.text)
    wrong = web.post_form(client, f"{BASE}/contacts/search", {"number": "12"},
                          page=f"{BASE}/contacts")  # fmt: skip
    assert wrong.status_code == 422 and 'aria-invalid="true"' in wrong.text


# --- opt-outs -------------------------------------------------------------------------------


def test_opt_outs_one_by_one_and_by_list_with_a_bad_line(web: WebApp) -> None:
    client = web.client(MARKETER)
    page = f"{BASE}/optouts"
    one = web.post_form(client, f"{page}/add", {"one-number": "06 20 00 00 01",
                        "source": "data_request"}, page=page)  # fmt: skip
    assert one.status_code == 303 and one.headers["location"] == f"{page}?added=unknown"
    assert "Il n'est pas un contact" in unescape(client.get(one.headers["location"]).text)
    checked = web.post_form(client, f"{page}/check", {"check-number": "+33620000001"}, page=page)
    assert checked.status_code == 200 and "Désinscrit depuis le" in checked.text
    listed = web.post_form(
        client, f"{page}/list",
        {"numbers": "06 20 00 00 02\n\nnot a number\n+33 6 20 00 00 03\n", "source": "manual"},
        page=page,
    )  # fmt: skip
    assert listed.status_code == 200
    assert "2 numéros désinscrits" in listed.text and "1 ligne rejetée" in listed.text
    rows = re.findall(
        r'<th scope="row" class="number">(\d+)</th><td>([^<]+)</td>', unescape(listed.text)
    )
    assert rows == [("3", "n'est pas un numéro de téléphone valide")]
    assert count_of(web, suppressions) >= 3
    bad = web.post_form(client, f"{page}/add", {"one-number": "bonjour"}, page=page)
    assert bad.status_code == 422 and 'id="f-one-number-error"' in bad.text
    nothing = web.post_form(client, f"{page}/list", {"numbers": "  "}, page=page)
    assert nothing.status_code == 422 and "un par ligne" in nothing.text


# --- roles and tenants -----------------------------------------------------------------------


def test_a_viewer_sees_everything_and_changes_nothing(web: WebApp) -> None:
    marketer = web.client(MARKETER)
    job_id = import_file(web, marketer, french_file("06 30 00 00 01", bad="0"))
    done = wait_for(marketer, job_id)
    assert done.status_code == 286 and "Télécharger les lignes rejetées" in unescape(done.text)
    viewer = web.client(VIEWER)
    entry = viewer.get(f"{BASE}/contacts")
    assert entry.status_code == 200 and f"/contacts/imports/{job_id}" in entry.text
    assert "Importer un fichier de contacts</a>" not in entry.text
    assert viewer.get(f"{BASE}/contacts/imports/{job_id}").status_code == 200
    assert viewer.get(f"{BASE}/contacts/imports/{job_id}/rejects").status_code == 200
    found = web.post_form(viewer, f"{BASE}/contacts/search", {"number": "0630000001"},
                          page=f"{BASE}/contacts")  # fmt: skip
    assert found.status_code == 303
    contact = viewer.get(found.headers["location"]).text
    assert "Désinscrire ce contact" not in contact and "<select" not in contact
    optouts = viewer.get(f"{BASE}/optouts").text
    assert 'action="/a/maison-lumiere/optouts/add"' not in optouts
    assert 'action="/a/maison-lumiere/optouts/check"' in optouts  # reading is allowed
    assert "ne les importe pas" in viewer.get(f"{BASE}/contacts/import").text
    before = count_of(web, suppressions)
    token = csrf_of(optouts)
    for path, data in (
        (f"{BASE}/optouts/add", {"one-number": "0630000099"}),
        (f"{BASE}/optouts/list", {"numbers": "0630000099"}),
        (f"{found.headers['location']}/optout", {"source": "manual"}),
        (f"{BASE}/contacts/mapping/forget", {"key": "recueillivia"}),
    ):
        refused = viewer.post(path, data={**data, "csrf_token": token})
        assert refused.status_code == 403, path
    refused = viewer.post(
        f"{BASE}/contacts/import", data={"csrf_token": token},
        files={"file": ("x.csv", french_file("0630000098"), "text/csv")},
    )  # fmt: skip
    assert refused.status_code == 403
    assert count_of(web, suppressions) == before
    assert count_of(web, contacts, contacts.c.e164 == "+33630000098") == 0


def test_another_advertiser_sees_nothing_of_these_contacts(web: WebApp) -> None:
    marketer = web.client(MARKETER)
    # A meaning given: the advertiser has a mapping of its own, which the stranger must not see.
    job_id = import_file(
        web, marketer, french_file("06 40 00 00 01", bad="1"), **{"Recueilli via": "consent_method"}
    )
    assert wait_for(marketer, job_id).status_code == 286
    found = web.post_form(marketer, f"{BASE}/contacts/search", {"number": "0640000001"},
                          page=f"{BASE}/contacts")  # fmt: skip
    contact = found.headers["location"]
    location = upload(marketer, french_file("06 40 00 00 02")).headers["location"]
    stranger = web.client(STRANGER)
    for path in (
        contact, f"{BASE}/contacts", f"{BASE}/contacts/imports/{job_id}",
        f"{BASE}/contacts/imports/{job_id}/rejects", f"{BASE}/contacts/imports/{job_id}/status",
        location, f"{BASE}/optouts", f"{BASE}/contacts/mapping",
    ):  # fmt: skip
        assert stranger.get(path).status_code == 404, path
    # Its own pages name neither this import, nor this contact, nor this upload.
    contact_id = contact.rsplit("/", 1)[1]
    upload_ref = location.rsplit("/", 1)[1]
    for path in (
        f"/a/copie/contacts/{contact_id}", f"/a/copie/contacts/imports/{job_id}",
        f"/a/copie/contacts/imports/{job_id}/rejects", f"/a/copie/contacts/import/{upload_ref}",
    ):  # fmt: skip
        assert stranger.get(path).status_code == 404, path
    own = stranger.get("/a/copie/contacts").text
    assert f"/imports/{job_id}" not in own
    searched = web.post_form(stranger, "/a/copie/contacts/search", {"number": "0640000001"},
                             page="/a/copie/contacts")  # fmt: skip
    assert searched.status_code == 404
    assert "Recueilli via" not in stranger.get("/a/copie/contacts/mapping").text
    assert count_of(web, import_mappings) >= 1


# --- in Chromium -------------------------------------------------------------------------------


def test_a_marketer_imports_maps_searches_and_opts_out_in_chromium(
    web: WebApp, browser: Browser, tmp_path: Path
) -> None:
    page = browser.signed_in(web, MARKETER)
    page.goto(web.url + f"{BASE}/contacts")
    browser.check(page, "contacts-index")
    page.get_by_role("link", name="Importer un fichier de contacts").click()
    browser.check(page, "contacts-import")
    file = tmp_path / "clients-decembre.csv"
    file.write_bytes(french_file("06 50 00 00 01", "06 50 00 00 02", bad="06 50"))
    page.get_by_label("Fichier de contacts (CSV)").set_input_files(str(file))
    page.get_by_role("button", name="Envoyer le fichier et vérifier ses colonnes").click()
    page.get_by_role("heading", name="Que signifie chaque colonne ?").wait_for()
    browser.check(page, "contacts-mapping")
    page.get_by_label("Signification de la colonne « Recueilli via »").select_option(
        label="Méthode de recueil du consentement"
    )
    page.get_by_role("button", name="Importer avec ces significations").click()
    page.get_by_role("heading", name=re.compile(r"Import n° \d+")).wait_for()
    # htmx swaps the result in once the job is over, without a reload.
    page.get_by_role("heading", name="Résultat").wait_for(timeout=90_000)
    browser.check(page, "contacts-import-result")
    assert page.get_by_role("link", name=re.compile("Télécharger les lignes rejetées")).count()
    page.get_by_role("link", name="Contacts", exact=True).first.click()
    page.get_by_label("Numéro de téléphone").fill("06 50 00 00 02")
    page.get_by_role("button", name="Rechercher").click()
    page.get_by_role("heading", name="Fiche contact 06 50 00 00 02").wait_for()
    assert "/contacts/" in page.url and "0650000002" not in page.url
    browser.check(page, "contacts-contact")
    page.get_by_role("link", name="Désinscriptions").first.click()
    page.get_by_label("Numéros, un par ligne").fill("06 50 00 00 09\nun mauvais numéro\n")
    page.get_by_role("button", name="Désinscrire ces numéros").click()
    page.get_by_role("heading", name="Résultat de la liste").wait_for()
    browser.check(page, "contacts-optouts")
    page.get_by_role("link", name="Correspondance des colonnes").click()
    browser.check(page, "contacts-mapping-saved")


def test_a_viewer_reads_the_contacts_pages_in_chromium(
    web: WebApp, browser: Browser, files_dir: Path
) -> None:
    page = browser.signed_in(web, VIEWER)
    # An import waiting for its turn: the progress bar, polled.
    job_id = waiting_import(web, files_dir, "waiting-viewer.csv")
    page.goto(web.url + f"{BASE}/contacts/imports/{job_id}")
    assert page.get_by_role("progressbar", name="Avancement de l'import").count() == 1
    browser.check(page, "contacts-import-waiting")
    page.goto(web.url + f"{BASE}/optouts")
    assert page.get_by_role("button", name="Désinscrire ce numéro").count() == 0
    browser.check(page, "contacts-optouts-viewer")
    page.goto(web.url + f"{BASE}/contacts/import")
    assert page.get_by_label("Fichier de contacts (CSV)").count() == 0
    browser.check(page, "contacts-import-viewer")
