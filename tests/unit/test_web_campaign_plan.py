"""The pure pieces of the campaign pages: the live chart's time buckets (services/
campaign_live.timeline_of) and the proof's English steps and audit names in French
(web/pages/campaign_proof.py), pattern by pattern of services/proof.py."""

from datetime import UTC, datetime, timedelta

from tambour.services.campaign_live import timeline_of
from tambour.services.proof_records import Message, Step
from tambour.web.pages.campaign_proof import cover_words, step_words
from tambour.web.pages.campaign_views import local_wall_time

T0 = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)


def test_a_short_campaign_is_counted_by_minute_with_the_gaps_at_zero() -> None:
    minutes = {
        T0: {"delivered": 5},
        T0 + timedelta(minutes=3): {"delivered": 2, "failed": 1},
    }
    timeline = timeline_of(minutes)
    assert timeline.unit == "minute"
    assert [(b.delivered, b.failed) for b in timeline.buckets] == [(5, 0), (0, 0), (0, 0), (2, 1)]
    assert (timeline.delivered, timeline.failed, timeline.most) == (7, 1, 5)


def test_longer_campaigns_are_gathered_by_hour_then_by_paris_day() -> None:
    by_hour = timeline_of({T0: {"delivered": 1}, T0 + timedelta(hours=5, minutes=7): {"failed": 2}})
    assert by_hour.unit == "hour" and len(by_hour.buckets) == 6
    assert by_hour.buckets[-1].start == T0 + timedelta(hours=5)
    by_day = timeline_of({T0: {"delivered": 1}, T0 + timedelta(days=3, hours=10): {"delivered": 4}})
    assert by_day.unit == "day"
    # Paris midnights: 23:00 UTC in winter.
    assert [b.start.hour for b in by_day.buckets] == [23, 23, 23, 23]
    assert [b.delivered for b in by_day.buckets] == [1, 0, 0, 4]
    assert timeline_of({}).buckets == ()


def _message() -> Message:
    return Message(
        id=7, state="delivered", reason=None, sender="MLUMIERE", attempts=1, send_at=T0,
        send_by=None, queued_at=T0, submitted_at=T0, valid_until=T0 + timedelta(hours=8),
        done_at=T0, error_code=None, error=None, parts=(), trail=(),
    )  # fmt: skip


def test_every_step_of_a_trail_is_said_in_french() -> None:
    message = _message()
    said = [
        step_words(Step(T0, what), message, "fr")
        for what in (
            "queued at launch",
            "worker batch: submitted",
            "taken by the carrier, 2 part(s), valid until 08/12/2026 18:00:00",
            "receipt: part 1 delivered (id c7930)",
            "receipt: part 2 failed (id c7931), error 11",
            "held until 09/12/2026 08:00:00 (quiet_hours)",
            "final state: delivered",
            "final state: cancelled (opted_out)",
        )
    ]
    assert said[0] == "mis en file au lancement"
    assert said[1] == "lot du worker : chez l’opérateur, accusé attendu"
    assert said[2].startswith("pris par l’opérateur, 2 partie(s), valable jusqu’au 8 déc. 2026")
    assert said[3] == "accusé : partie 1 distribué au destinataire (id opérateur c7930)"
    assert said[4].endswith("(id opérateur c7931), erreur 11")
    assert said[5].startswith("retenu jusqu’au 8 déc. 2026 à 10:00 (")
    assert said[6] == "état final : distribué au destinataire"
    assert said[7].startswith("état final : retiré avant son départ (")
    assert "opted_out" not in said[7]  # a label, not the code
    # A step this page does not know is shown as proof.py wrote it.
    assert step_words(Step(T0, "something new"), message, "fr") == "something new"
    assert step_words(Step(T0, "queued at launch"), message, "en") == "queued at launch"


def test_what_an_audit_entry_names_is_said_in_french() -> None:
    assert cover_words("evidence #12", "fr") == "fait n° 12"
    assert cover_words("suppression entry #3", "fr") == "entrée n° 3 de la liste d’opposition"
    assert cover_words("plan of 'Soldes d’été' (generation 2, 1500 rows)", "fr") == (
        "plan de « Soldes d’été » (génération 2, 1\u202f500 lignes)"
    )
    assert cover_words('launch of "L\'hiver"', "fr") == "lancement de « L'hiver »"
    assert cover_words("cancellation of 'x'", "fr") == "annulation de « x »"
    assert cover_words("message #9 delivered", "fr") == "message n° 9 distribué au destinataire"
    assert cover_words("reply #4", "fr") == "réponse n° 4"
    assert cover_words("something else", "fr") == "something else"


def test_a_local_send_time_is_written_as_its_own_place_reads_it() -> None:
    assert local_wall_time("2026-12-08T09:00:00-04:00", "fr") == "8 déc. 2026 à 09:00"
    assert local_wall_time(None, "fr") == "—"
