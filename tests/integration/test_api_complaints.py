"""`/api/v1/complaints` over real HTTP against `tambour serve`, with a real worker against the
local SMSC, on SQLite and PostgreSQL: the same service as `tambour complaints`. An advertiser's
key uploads the 33700 file: its reports are matched, the numbers suppressed, and the campaign
due next is paused, so that a worker at its send time sends nothing of it; a batch as JSON is
counted once however often it is sent; the rates read back; only the operator's key resumes,
and then it leaves. Numbers are never in the server's log."""

from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine

from tests.integration.api_server import ApiServer, assert_problem, new_key
from tests.integration.test_complaints import (
    FIRST,
    POLICY,
    REPORTED_ON,
    SECOND,
    STRANGER,
    THURSDAY_10,
    complaints_file,
    outbox_states,
    send_at,
    sent_and_queued,
    suppressed,
)

V1 = "/api/v1"


def test_a_33700_file_uploaded_pauses_the_advertiser_and_only_the_operator_resumes(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    sent_and_queued(engine, tmp_path)
    key = new_key(db_url, "--advertiser", "maison-lumiere", "--scopes", "read,write,send")
    operator = new_key(db_url, "--operator")
    env = {**POLICY, "TAMBOUR_NOW": REPORTED_ON, "TAMBOUR_FILES_DIR": str(tmp_path / "files")}
    with ApiServer(db_url, tmp_path, env=env) as server:
        body = complaints_file(tmp_path / "33700.csv").read_bytes()
        taken = server.post(
            f"{V1}/complaints/files", token=key, content=body,
            headers={"Content-Type": "text/csv"},
        )  # fmt: skip
        assert taken.status_code == 200, taken.text
        done = taken.json()
        assert (done["recorded"], done["matched"], done["unmatched"]) == (3, 2, 1)
        assert [(r["line"], r["code"]) for r in done["rejected"]] == [
            (5, "invalid_number"), (6, "reported_in_future"),
        ]  # fmt: skip
        ((paused),) = done["paused"]
        assert (paused["campaign"], paused["held"]) == ("relance", 25)
        assert not list((tmp_path / "files").rglob("*.csv"))  # the upload is not kept
        # The same reports as a JSON batch: known already, counted once.
        batch = {"reports": [
            {"number": FIRST[1], "sender": "MLUMIERE", "reported_at": "02/12/2026 08:30",
             "text": "-20% sur nos luminaires ce week-end"},
            {"number": "nothing", "sender": "MLUMIERE", "reported_at": "2026-12-02"},
        ]}  # fmt: skip
        again = server.post(f"{V1}/complaints", token=key, json=batch).json()
        assert (again["recorded"], again["already"]) == (0, 1)
        assert [(r["line"], r["field"]) for r in again["rejected"]] == [(2, "number")]
        listed = server.get(f"{V1}/complaints", token=key).json()
        assert [r["state"] for r in listed] == ["unmatched", "matched", "matched"]
        assert all(len(r["phone_ref"]) == 16 for r in listed)
        rates = server.get(f"{V1}/complaints/rates", token=key).json()
        assert (rates["advertiser"]["complaints"], rates["advertiser"]["sent"]) == (3, 20)
        assert rates["crossed"] is True and [p["name"] for p in rates["paused"]] == ["relance"]
        campaigns = server.get(f"{V1}/campaigns", token=key).json()["items"]
        relance = next(c for c in campaigns if c["name"] == "relance")
        assert relance["status"] == "paused" and relance["paused_at"]
        paused_list = server.get(f"{V1}/campaigns", token=key, params={"status": "paused"}).json()[
            "items"
        ]
        assert [c["name"] for c in paused_list] == ["relance"]
        # An operator's batch, across advertisers: an unknown sender is kept, unattributed.
        platform = server.post(
            f"{V1}/complaints/platform", token=operator,
            json={"reports": [{"number": STRANGER, "sender": "INCONNU",
                               "reported_at": "2026-12-01"}]},
        ).json()  # fmt: skip
        assert (platform["recorded"], platform["unattributed"]) == (1, 1)
        assert_problem(
            server.post(f"{V1}/complaints/platform", token=key, json=batch), 403, "missing_scope"
        )
        logged = server.log_path.read_text()
    for number in (*FIRST, STRANGER):
        assert number[3:] not in logged
    for number in (FIRST[1], FIRST[2], STRANGER):
        assert suppressed(engine, number) == "complaint_33700"

    # The worker at the paused campaign's send time: nothing of it leaves.
    assert send_at(engine, THURSDAY_10 + timedelta(minutes=1)) == Counter()
    assert outbox_states(engine, "relance") == Counter({"paused": 25})

    later = {**env, "TAMBOUR_NOW": "2026-12-03T10:00:00+01:00"}
    with ApiServer(db_url, tmp_path, env=later) as server:
        path = f"{V1}/campaigns/{relance['id']}/resume"
        assert_problem(server.post(path, token=key), 403, "missing_scope")
        resumed = server.post(path, token=operator, params={"advertiser": "maison-lumiere"})
        assert resumed.status_code == 200, resumed.text
        assert resumed.json()["requeued"] == 25
        again_resumed = server.post(path, token=operator, params={"advertiser": "maison-lumiere"})
        assert_problem(again_resumed, 409, "not_paused")
    complained = {FIRST[1], FIRST[2]}
    expected = Counter(n for n in FIRST + SECOND if n not in complained)
    assert send_at(engine, THURSDAY_10 + timedelta(minutes=1)) == expected
