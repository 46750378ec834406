"""Every page of an advertiser's data, read from the app's own routes (a page added later is
covered without a line here): another advertiser's account gets 404 on each, GET or POST,
exactly as for what does not exist; an object of another advertiser named in a path of one's
own is 404; and a viewer (a data-protection officer) can change nothing: every POST that
records something answers 403 and leaves the data as it was."""

import re
import time
from collections.abc import Iterator
from typing import Any, Final

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select

from tambour.store.engine import make_engine
from tambour.store.tables import advertisers, audit_log, campaigns, contacts, jobs
from tambour.web import PAGES
from tests.integration.web_app import HOME, OTHER, WebApp, csrf_of

# POSTs that record nothing (a count, a preview, a search): a viewer may send them.
READING_POSTS: Final = {
    "/a/{slug}/campaigns/counter",
    "/a/{slug}/campaigns/schedule",
    "/a/{slug}/contacts/search",
    "/a/{slug}/optouts/check",
    "/a/{slug}/audit/verify",  # the chain checked: a data-protection officer's own job
    "/a/{slug}/campaigns/{campaign_id}/proof",  # a recipient's proof, found by number
}
_PARAM = re.compile(r"\{(\w+)\}")


def _walk(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # a router included in a page's router
            yield from _walk(route.original_router.routes)


def advertiser_routes() -> list[tuple[str, str]]:
    """(method, path template) of every page under /a/{slug}/."""
    found = {
        (method, route.path)
        for module in PAGES
        for route in _walk(module.router.routes)
        for method in route.methods
        if route.path.startswith("/a/{slug}") and method in ("GET", "POST")
    }
    return sorted(found, key=lambda item: (item[1], item[0]))


ROUTES = advertiser_routes()


def test_the_pages_of_an_advertiser_are_many() -> None:
    """The walk finds the app's pages (a walk finding nothing would pass every test below)."""
    paths = {path for _, path in ROUTES}
    assert len(ROUTES) >= 40, ROUTES
    for expected in (
        "/a/{slug}/",
        "/a/{slug}/contacts/{contact_id}",
        "/a/{slug}/campaigns/{campaign_id}/edit",
        "/a/{slug}/campaigns/{campaign_id}/plan",
        "/a/{slug}/settings",
        "/a/{slug}/audit",
    ):
        assert expected in paths, expected


def _ids(web: WebApp, slug: str) -> dict[str, str]:
    """An object of each kind of `slug`'s, by the name its path parameter has."""
    engine = make_engine(web.server.db_url)
    try:
        with engine.connect() as conn:
            owner = select(advertisers.c.id).where(advertisers.c.slug == slug).scalar_subquery()
            campaign = conn.execute(
                select(campaigns.c.id).where(campaigns.c.advertiser_id == owner).limit(1)
            ).scalar()
            contact = conn.execute(
                select(contacts.c.id).where(contacts.c.advertiser_id == owner).limit(1)
            ).scalar()
            job = conn.execute(
                select(jobs.c.id).where(jobs.c.advertiser_id == owner).limit(1)
            ).scalar()
    finally:
        engine.dispose()
    assert campaign and contact and job, (campaign, contact, job)
    return {"slug": slug, "campaign_id": str(campaign), "contact_id": str(contact),
            "job_id": str(job)}  # fmt: skip


def _filled(template: str, ids: dict[str, str]) -> str:
    return _PARAM.sub(lambda m: ids.get(m.group(1), "1"), template)


@pytest.fixture(scope="module")
def data(web: WebApp, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """A contact, a campaign and a job at each advertiser."""
    folder = tmp_path_factory.mktemp("tenancy")
    for slug in (HOME, OTHER):
        path = folder / f"{slug}.csv"
        path.write_text(
            "phone,first_name,consent,consent_at,consent_method,consent_wording\n"
            "+33612345678,Léa,yes,2026-01-10T10:00:00+01:00,web_form,J'accepte les SMS\n",
            encoding="utf-8",
        )
        web.cli("contacts", "import", str(path), "--advertiser", slug)
        sender = "MLUMIERE" if slug == HOME else "COPIE"
        web.cli(
            "campaign", "create", "--advertiser", slug, "--name", f"Tenancy {slug}",
            "--nature", "commercial", "--sender", sender, "--categories", "luminaires",
            "--text", "Soldes : -20 % sur les luminaires",
        )  # fmt: skip
    # A job at each: a plan asked from the page (it makes a job row).
    for slug, email in ((HOME, "marketer@maison-lumiere.fr"), (OTHER, "marketer@copie.fr")):
        client = web.client(email)
        campaign = _ids_without_job(web, slug)
        page = f"/a/{slug}/campaigns/{campaign}/plan"
        answer = client.post(page, data={"csrf_token": csrf_of(client.get(page).text)})
        assert answer.status_code in (200, 303), answer.text
    _jobs_done(web)  # the plans run in the background: their audit entries are all written
    return {slug: _ids(web, slug) for slug in (HOME, OTHER)}


def _jobs_done(web: WebApp, timeout: float = 60.0) -> None:
    """Until no job is queued or running (the counts of audit entries below compare)."""
    engine = make_engine(web.server.db_url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as conn:
                waiting = conn.execute(
                    select(jobs.c.id).where(jobs.c.state.in_(("queued", "running")))
                ).first()
            if waiting is None:
                return
            assert time.monotonic() < deadline, "the plan jobs did not finish"
            time.sleep(0.1)
    finally:
        engine.dispose()


def _ids_without_job(web: WebApp, slug: str) -> int:
    engine = make_engine(web.server.db_url)
    try:
        with engine.connect() as conn:
            owner = select(advertisers.c.id).where(advertisers.c.slug == slug).scalar_subquery()
            found: int = conn.execute(
                select(campaigns.c.id).where(campaigns.c.advertiser_id == owner).limit(1)
            ).scalar_one()
            return found
    finally:
        engine.dispose()


def _audit_count(web: WebApp) -> int:
    engine = make_engine(web.server.db_url)
    try:
        with engine.connect() as conn:
            # Not the job runners' daily upkeep (the retention run): the runner the data's
            # plan jobs started writes it once idle, at any moment, whoever asks for a page.
            return len(
                conn.execute(
                    select(audit_log.c.seq).where(audit_log.c.action.not_like("retention.%"))
                ).all()
            )
    finally:
        engine.dispose()


def _send(client: httpx.Client, method: str, path: str, token: str) -> httpx.Response:
    if method == "GET":
        return client.get(path)
    return client.post(path, data={"csrf_token": token, "text": "x", "number": "0612345678"})


def test_another_advertisers_account_gets_404_on_every_page(
    web: WebApp, data: dict[str, dict[str, str]]
) -> None:
    intruder = web.client("marketer@copie.fr")
    token = csrf_of(intruder.get("/account").text)  # its own valid token: CSRF passes
    before = _audit_count(web)
    for method, template in ROUTES:
        path = _filled(template, data[HOME])
        answer = _send(intruder, method, path, token)
        assert answer.status_code == 404, (method, template, answer.status_code)
        assert "Maison Lumière" not in answer.text, (method, template)
    assert _audit_count(web) == before  # nothing recorded


def test_another_advertisers_object_in_ones_own_pages_is_404(
    web: WebApp, data: dict[str, dict[str, str]]
) -> None:
    marketer = web.client("marketer@maison-lumiere.fr")
    token = csrf_of(marketer.get("/account").text)
    crossed = {**data[OTHER], "slug": HOME}  # copie's ids, under maison-lumiere's pages
    checked = 0
    for method, template in ROUTES:
        names = set(_PARAM.findall(template)) - {"slug"}
        if not names & {"campaign_id", "contact_id", "job_id"}:
            continue
        answer = _send(marketer, method, _filled(template, crossed), token)
        assert answer.status_code == 404, (method, template, answer.status_code)
        assert "Tenancy copie" not in answer.text
        checked += 1
    assert checked >= 10


def test_a_viewer_changes_nothing(web: WebApp, data: dict[str, dict[str, str]]) -> None:
    viewer = web.client("viewer@maison-lumiere.fr")
    token = csrf_of(viewer.get("/account").text)
    before = _audit_count(web)
    refused = 0
    for method, template in ROUTES:
        if method != "POST" or template in READING_POSTS:
            continue
        answer = _send(viewer, method, _filled(template, data[HOME]), token)
        # 403; or 422 when the form lacks a field the route reads before its handler runs
        # (a file): refused either way, and the audit count below shows nothing was recorded.
        assert answer.status_code in (403, 404, 422), (template, answer.status_code)
        refused += answer.status_code == 403
    assert refused >= 10
    assert _audit_count(web) == before
    # And what a viewer may do, it may: the pages it reads answer (a page that exists only to
    # write, such as a new campaign's, is 403), never with an error.
    read = 0
    for method, template in ROUTES:
        if method == "GET" and not set(_PARAM.findall(template)) - {"slug", "campaign_id"}:
            answer = viewer.get(_filled(template, data[HOME]))
            assert answer.status_code in (200, 204, 286, 303, 403), (template, answer.status_code)
            read += answer.status_code == 200
    assert read >= 10
