"""The verification of the audit log as a job (services/audit_jobs.py, jobs/kinds/audit_verify.py):
asked for from the advertiser's audit page, followed (htmx, or the page reloading itself
without JavaScript), explained in words; stopped when asked; another advertiser's is 404. Over
HTTP against `tambour serve` (its own job runner), in Chromium with and without JavaScript, and
through the use cases (progress, cancellation, what the result says of the platform)."""

import json
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from html import unescape

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import Engine, select, update

from tambour.jobs.control import CancelRequested, JobControl
from tambour.jobs.inline import run_inline
from tambour.jobs.kinds import audit_verify
from tambour.services import audit_jobs, jobs
from tambour.services.context import Context, NotFoundError
from tambour.services.jobs import JobRequest, JobState
from tambour.store.engine import make_engine
from tambour.store.tables import advertisers, audit_log, suppressions
from tambour.store.tables import jobs as job_rows
from tests.integration.cli import Cli
from tests.integration.test_audit import as_attacker
from tests.integration.web_app import HOME, OTHER, WebApp, csrf_of
from tests.integration.web_browser import Browser, log_in

AUDIT = f"/a/{HOME}/audit"
VIEWER = "viewer@maison-lumiere.fr"
_JOB = re.compile(rf"^{AUDIT}/verifications/(\d+)$")


def _text(html: str) -> str:
    spaced = unescape(re.sub(r"<[^>]+>", " ", html)).replace("\u202f", " ").replace("\xa0", " ")
    return re.sub(r"\s+", " ", spaced)


@pytest.fixture
def engine_of(web: WebApp) -> Iterator[Engine]:
    made = make_engine(web.server.db_url)
    yield made
    made.dispose()


def _ask(web: WebApp, client: httpx.Client) -> int:
    """Ask for a verification from the audit page: the answer leads to the job's page."""
    asked = web.post_form(client, f"{AUDIT}/verify", {}, page=AUDIT)
    assert asked.status_code == 303, asked.text
    found = _JOB.match(asked.headers["location"])
    assert found, asked.headers["location"]
    return int(found.group(1))


def _finished(client: httpx.Client, job_id: int, timeout: float = 90.0) -> httpx.Response:
    """The job's page once the job is over (its status fragment answers 286 then)."""
    deadline = time.monotonic() + timeout
    while True:
        status = client.get(f"{AUDIT}/verifications/{job_id}/status")
        assert status.status_code in (200, 286), status.text
        if status.status_code == 286:
            return client.get(f"{AUDIT}/verifications/{job_id}")
        assert time.monotonic() < deadline, "the verification did not finish"
        time.sleep(0.2)


def test_a_viewer_asks_for_the_check_and_reads_its_result_in_words(
    web: WebApp, engine_of: Engine
) -> None:
    web.cli("optout", "add", "06 12 34 56 78", "--advertiser", HOME, "--source", "manual")
    viewer = web.client(VIEWER)
    job_id = _ask(web, viewer)
    page = _finished(viewer, job_id)
    assert page.status_code == 200
    text = _text(page.text)
    assert f"Vérification du journal n° {job_id}" in text and "Vérification terminée" in text
    assert "Le journal est intact." in text and "hx-get" not in page.text  # no more polling
    anchor = re.search(r'<code class="anchor">(\d+) ([0-9a-f]{64})</code>', page.text)
    assert anchor, page.text
    count, head = int(anchor.group(1)), anchor.group(2)
    with engine_of.connect() as conn:  # the anchor: the hash of the entry it counts up to
        stored = conn.execute(select(audit_log.c.hash).where(audit_log.c.seq == count)).scalar()
        entries = conn.execute(
            select(audit_log.c.action, audit_log.c.actor, audit_log.c.details).where(
                audit_log.c.action.like("job.%")
            )
        ).all()
        result = json.loads(
            conn.execute(select(job_rows.c.result).where(job_rows.c.id == job_id)).scalar_one()
        )
    assert stored == head
    mine = {action: actor for action, actor, d in entries if json.loads(d)["job"] == job_id}
    assert mine.get("job.submitted") == f"web:{VIEWER}" and "job.succeeded" in mine
    # The job's result tells an advertiser nothing of which rows (another's, perhaps).
    assert set(result) == {"ok", "log_ok", "count", "head", "first_bad", "rows_ok",
                           "row_problems"}  # fmt: skip
    # The audit page says the last check and links to it.
    audit = viewer.get(AUDIT)
    assert "Dernière vérification" in _text(audit.text)
    assert f'href="{AUDIT}/verifications/{job_id}"' in audit.text
    assert "le journal était intact" in _text(audit.text)


def test_a_queued_check_shows_its_progress_reloads_without_javascript_and_is_stopped(
    web: WebApp, engine_of: Engine
) -> None:
    ctx = Context(engine=engine_of, actor="test:web-audit")
    later = ctx.now() + timedelta(hours=1)  # queued, not due: no runner takes it
    job = jobs.submit(ctx, JobRequest(audit_verify.KIND, _home_id(engine_of), {}, due_at=later))
    viewer = web.client(VIEWER)
    page = viewer.get(f"{AUDIT}/verifications/{job.id}")
    assert page.status_code == 200
    text = _text(page.text)
    assert "En attente de démarrage" in text and "la vérification démarre dans un instant" in text
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page.text
    assert f'hx-get="{AUDIT}/verifications/{job.id}/status"' in page.text
    assert f'href="{AUDIT}/verifications/{job.id}"' in page.text  # to refresh by hand
    assert viewer.get(f"{AUDIT}/verifications/{job.id}/status").status_code == 200
    # Asking again while one waits gives that one: a second click checks once.
    assert _ask(web, viewer) == job.id
    # Stopped from its page (whoever may ask for a check may stop it).
    token = csrf_of(page.text)
    stopped = viewer.post(f"{AUDIT}/verifications/{job.id}/cancel", data={"csrf_token": token})
    assert stopped.status_code == 303
    after = viewer.get(stopped.headers["location"])
    assert "Vérification arrêtée" in _text(after.text) and "noscript" not in after.text
    assert viewer.get(f"{AUDIT}/verifications/{job.id}/status").status_code == 286
    again = viewer.post(f"{AUDIT}/verifications/{job.id}/cancel", data={"csrf_token": token})
    assert again.status_code == 409 and "Cette tâche est terminée" in _text(again.text)
    assert jobs.get(ctx, job.id, advertiser_id=None).state is JobState.CANCELLED


def test_another_advertisers_check_and_a_job_of_another_kind_are_not_found(
    web: WebApp, engine_of: Engine
) -> None:
    ctx = Context(engine=engine_of, actor="test:web-audit")
    later = ctx.now() + timedelta(hours=1)  # queued, not due: no runner takes them
    home, other = _home_id(engine_of), _advertiser_id(engine_of, OTHER)
    theirs = jobs.submit(ctx, JobRequest(audit_verify.KIND, other, {}, due_at=later))
    mine = jobs.submit(ctx, JobRequest(audit_verify.KIND, home, {}, due_at=later))
    export = jobs.submit(ctx, JobRequest("contacts.export", home, {}, due_at=later))
    viewer = web.client(VIEWER)
    token = csrf_of(viewer.get(AUDIT).text)
    for job_id in (theirs.id, export.id, 999_999):
        assert viewer.get(f"{AUDIT}/verifications/{job_id}").status_code == 404
        assert viewer.get(f"{AUDIT}/verifications/{job_id}/status").status_code == 404
        refused = viewer.post(f"{AUDIT}/verifications/{job_id}/cancel", data={"csrf_token": token})
        assert refused.status_code == 404
    assert viewer.get(f"{AUDIT}/verifications/{mine.id}").status_code == 200
    intruder = web.client("marketer@copie.fr")
    assert intruder.get(f"/a/{OTHER}/audit/verifications/{theirs.id}").status_code == 200
    assert intruder.get(f"{AUDIT}/verifications/{mine.id}").status_code == 404
    assert intruder.get(f"/a/{OTHER}/audit/verifications/{mine.id}").status_code == 404
    for job in (theirs, mine, export):
        jobs.request_cancel(ctx, job.id, advertiser_id=None)
    assert jobs.get(ctx, theirs.id, advertiser_id=None).state is JobState.CANCELLED


def test_a_changed_database_is_said_in_words_then_repaired(web: WebApp, engine_of: Engine) -> None:
    """An entry and a sealed row changed behind Tambour's back: the check says where the chain
    breaks and how many rows, in French (put back afterwards: the module's other tests share
    the database)."""
    web.cli("optout", "add", "06 98 76 54 32", "--advertiser", HOME, "--source", "manual")
    with as_attacker(engine_of) as conn:
        entry = conn.execute(
            select(audit_log.c.seq, audit_log.c.details).where(audit_log.c.seq == 2)
        ).one()
        row = conn.execute(select(suppressions.c.id, suppressions.c.source).limit(1)).one()
        conn.execute(update(audit_log).where(audit_log.c.seq == 2).values(details='{"x":1}'))
        conn.execute(
            update(suppressions).where(suppressions.c.id == row.id).values(source="falsifié")
        )
    try:
        viewer = web.client(VIEWER)
        page = _finished(viewer, _ask(web, viewer))
        text = _text(page.text)
        assert (
            "La vérification a échoué : la base de données a été modifiée hors de Tambour" in text
        )
        assert "La chaîne des entrées se rompt à l'entrée 2" in text, text
        assert re.search(r"\d+ lignes? scellées? ne correspond", text), text
        assert 'role="alert"' in page.text and "falsifié" not in page.text
        assert "le journal était intact" not in _text(viewer.get(AUDIT).text)
    finally:
        with as_attacker(engine_of) as conn:
            conn.execute(
                update(audit_log).where(audit_log.c.seq == 2).values(details=entry.details)
            )
            conn.execute(
                update(suppressions).where(suppressions.c.id == row.id).values(source=row.source)
            )
    viewer = web.client(VIEWER)
    assert "Le journal est intact." in _finished(viewer, _ask(web, viewer)).text  # put back


def test_the_check_in_chromium_with_and_without_javascript(
    web: WebApp, browser: Browser, engine_of: Engine
) -> None:
    page = browser.signed_in(web, VIEWER)
    # A check waiting for its runner: its progress, then stopped by its button.
    ctx = Context(engine=engine_of, actor="test:web-audit")
    later = ctx.now() + timedelta(hours=1)
    waiting = jobs.submit(ctx, JobRequest(audit_verify.KIND, _home_id(engine_of), {}, due_at=later))
    page.goto(web.url + f"{AUDIT}/verifications/{waiting.id}")
    expect(page.get_by_label("Avancement de la vérification")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("En attente de démarrage")
    browser.check(page, "audit-verification-waiting")
    page.get_by_role("button", name="Arrêter la vérification").click()
    expect(page.get_by_role("status")).to_contain_text("Vérification arrêtée")
    # A check asked for from the audit page, followed to its result.
    page.goto(web.url + AUDIT)
    page.get_by_role("button", name="Vérifier").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Vérification du journal"))
    expect(page.get_by_text("Le journal est intact.")).to_be_visible(timeout=60_000)
    browser.check(page, "audit-verification")
    page.get_by_role("link", name="Retour au journal d'audit").first.click()
    expect(page.get_by_role("link", name="Voir son résultat")).to_be_visible()
    browser.check(page, "audit-after-check")

    # Without JavaScript the job's page reloads itself until the result is there.
    context = browser.engine.new_context(locale="fr-FR", java_script_enabled=False)
    browser.contexts.append(context)
    plain = context.new_page()
    plain.goto(web.url + "/login")
    log_in(plain, VIEWER)
    plain.goto(web.url + AUDIT)
    plain.get_by_role("button", name="Vérifier").click()
    assert _JOB.match(plain.url.removeprefix(web.url)), plain.url
    expect(plain.get_by_text("Le journal est intact.")).to_be_visible(timeout=60_000)


# --- the use cases ------------------------------------------------------------------------------


def _advertiser_id(engine: Engine, slug: str) -> int:
    with engine.connect() as conn:
        found: int = conn.execute(
            select(advertisers.c.id).where(advertisers.c.slug == slug)
        ).scalar_one()
    return found


def _home_id(engine: Engine) -> int:
    return _advertiser_id(engine, HOME)


@pytest.fixture
def ctx(db_url: str, engine: Engine) -> Context:
    Cli(db_url).advertiser(HOME)
    Cli(db_url).advertiser(OTHER)
    return Context(engine=engine, actor="test:audit-jobs")


def test_the_job_checks_reports_its_phases_and_says_only_what_an_advertiser_may_know(
    ctx: Context,
) -> None:
    heard: list[tuple[str | None, int, int | None]] = []
    done = run_inline(
        ctx,
        audit_verify.request(ctx, advertiser=HOME),
        listener=lambda p: heard.append((p.phase, p.done, p.total)),
    )
    assert done.state is JobState.SUCCEEDED, done.error_message
    outcome = audit_jobs.outcome(done)
    assert outcome is not None and outcome.ok and outcome.log_ok and outcome.rows_ok
    assert outcome.count >= 2 and outcome.row_problems == 0 and outcome.first_bad is None
    assert set(done.result or {}) == {"ok", "log_ok", "count", "head", "first_bad", "rows_ok",
                                      "row_problems"}  # fmt: skip
    phases = [phase for phase, _, _ in heard]
    assert "entries" in phases and "rows" in phases
    assert phases.index("entries") < phases.index("rows")
    entries = [(d, t) for phase, d, t in heard if phase == "entries"]
    assert entries[-1][0] == entries[-1][1] == outcome.count  # every entry counted
    # Another advertiser's check is not found through this one; a plan is not a check.
    theirs = audit_jobs.start(ctx, slug=OTHER)
    with pytest.raises(NotFoundError):
        audit_jobs.get(ctx, slug=HOME, job_id=theirs.id)
    assert audit_jobs.start(ctx, slug=OTHER).id == theirs.id  # one at a time
    assert audit_jobs.cancel(ctx, slug=OTHER, job_id=theirs.id).state is JobState.CANCELLED
    assert audit_jobs.start(ctx, slug=OTHER).id != theirs.id
    assert audit_jobs.latest(ctx, slug=HOME) == audit_jobs.get(ctx, slug=HOME, job_id=done.id)


def test_a_cancelled_check_stops_at_its_next_chunk(ctx: Context) -> None:
    job = jobs.submit(ctx, audit_verify.request(ctx, advertiser=HOME))
    control = JobControl(job)
    control.cancel()
    with pytest.raises(CancelRequested):
        audit_verify.run(ctx, job, control)
