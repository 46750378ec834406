"""The refusals the use cases make inside a transaction (a sender ID taken, a campaign blocked
or planned too long ago, an invitation valid too long, a webhook's limits), made for real on
SQLite and PostgreSQL and worded for a page by web/refusals.py: in French, with the values the
service names (which sender, which blocks, which limit), never the service's English."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from tambour.rules import labels
from tambour.rules.codes import Nature
from tambour.services import advertisers, campaigns, planner, users, webhooks
from tambour.services.context import Context, ServiceError
from tambour.services.roles import Role
from tambour.web import refusals

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Paris


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ctx(engine: Engine, clock: Clock) -> Context:
    context = Context(engine, actor="web:marketer@maison-lumiere.fr", clock=clock)
    advertisers.create(
        context, slug="maison-lumiere", name="Maison Lumière SAS", senders=["MLUMIERE"],
        stop_number="36111", categories=["luminaires"],
    )  # fmt: skip
    return context


def refused(call: Callable[..., Any], **arguments: Any) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        call(**arguments)
    return caught.value


def french(error: ServiceError) -> str:
    said = refusals.said(error, "fr")
    assert error.message not in said  # never the service's English
    return said


def test_a_sender_id_of_another_advertiser(ctx: Context) -> None:
    error = refused(
        advertisers.create, ctx=ctx, slug="copie", name="Copie SARL",
        senders=["Copie", "mlumiere"], stop_number="36111", categories=[],
    )  # fmt: skip
    assert error.code == "sender_taken"
    assert refusals.by_field(error, "fr")["senders"] == (
        "MLUMIERE : déjà le nom d'expéditeur d'un autre annonceur (sur la plateforme, un nom "
        "d'expéditeur n'appartient qu'à un seul annonceur)."
    )
    assert "maison-lumiere" not in french(error)  # the other tenant is not named


def test_a_launch_refused_says_what_to_do(ctx: Context, clock: Clock) -> None:
    def campaign(name: str, sender: str, text: str) -> None:
        campaigns.create(
            ctx, slug="maison-lumiere", name=name, nature=Nature.COMMERCIAL, sender=sender,
            text=text,
        )  # fmt: skip

    campaign("Soldes d'hiver", "MLUMIERE", "Soldes d'hiver chez Maison Lumière : -30 %")
    unplanned = refused(campaigns.launch, ctx=ctx, slug="maison-lumiere", name="Soldes d'hiver")
    assert french(unplanned) == (
        "Cette campagne n'a pas encore de plan : planifiez-la et lisez son rapport d'abord."
    )
    planner.plan(ctx, name="Soldes d'hiver", slug="maison-lumiere", workers=1)
    clock.now = START + timedelta(hours=25)
    stale = refused(campaigns.launch, ctx=ctx, slug="maison-lumiere", name="Soldes d'hiver")
    assert stale.code == "plan_stale"
    assert french(stale) == (
        "Le plan a plus de 24 heures : planifiez à nouveau, relisez le rapport, puis lancez."
    )
    # From the short number, a text that names nobody: the plan is blocked.
    campaign("Bonjour", "36111", "Bonjour")
    planner.plan(ctx, name="Bonjour", slug="maison-lumiere", workers=1)
    blocked = refused(campaigns.launch, ctx=ctx, slug="maison-lumiere", name="Bonjour")
    assert blocked.code == "campaign_blocked"
    said = french(blocked)
    assert said.startswith("La campagne est bloquée, rien ne peut partir tant que cela ne")
    assert labels.label("missing_advertiser_identity", "fr") in said
    assert labels.label("missing_advertiser_identity", "en") in refusals.said(blocked, "en")


def test_an_invitation_valid_too_long(ctx: Context) -> None:
    error = refused(
        users.invite, ctx=ctx, email="stagiaire@maison-lumiere.fr", role=Role.VIEWER,
        advertiser="maison-lumiere", valid_for=timedelta(days=90),
    )  # fmt: skip
    assert refusals.by_field(error, "fr") == {
        "valid_for": "Une invitation est valable de 5 minutes à 30 jours."
    }
    assert refusals.listed(error, "fr")[0].label == "Durée de validité"


def test_the_limits_of_webhooks(ctx: Context) -> None:
    def endpoint(number: int) -> int:
        made = webhooks.create_endpoint(
            ctx, advertiser="maison-lumiere", url=f"http://127.0.0.1:9/hook/{number}",
            allow_private=True,
        )  # fmt: skip
        return made.endpoint.id

    first = endpoint(0)
    overlap = refused(
        webhooks.rotate_secret, ctx=ctx, advertiser="maison-lumiere", endpoint_id=first,
        overlap=timedelta(days=8),
    )  # fmt: skip
    assert french(overlap) == "L'ancien et le nouveau secret se chevauchent de 0 à 7 jours."
    limit = refused(
        webhooks.deliveries, ctx=ctx, advertiser="maison-lumiere", endpoint_id=first, limit=0
    )
    assert french(limit) == "Choisissez un nombre de 1 à 500."
    for number in range(1, webhooks.MAX_ENDPOINTS):
        endpoint(number)
    full = refused(endpoint, number=webhooks.MAX_ENDPOINTS)
    assert refusals.by_field(full, "fr")["url"] == (
        f"Un annonceur a au plus {webhooks.MAX_ENDPOINTS} points de réception de webhooks : "
        "supprimez-en un d'abord."
    )
