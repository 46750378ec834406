"""The command line of issue 2: JSON shapes, exit codes, and the demo covering every code."""

import json
import shlex
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from tambour.cli import app
from tambour.rules.codes import Basis, Reason

runner = CliRunner()


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


def test_sms_count_json() -> None:
    code, out, _ = run("sms", "count", "--json", "Bonjour € ça va ?")
    assert code == 0
    payload = json.loads(out)
    assert payload == {
        "encoding": "UCS-2",
        "segments": 1,
        "units": 17,
        "units_per_segment": [17],
        "non_gsm": [{"char": "ç", "index": 10}],
        "suggestion": "Bonjour € ca va ?",
    }


def test_sms_count_reads_stdin_without_the_trailing_newline() -> None:
    code, out, _ = run("sms", "count", "--json", input="a" * 160 + "\n")
    assert code == 0
    assert json.loads(out)["segments"] == 1
    _, out, _ = run("sms", "count", "--json", input="a" * 161)
    assert json.loads(out)["units_per_segment"] == [153, 8]


def test_calendar_check_json() -> None:
    code, out, _ = run(
        "calendar", "check", "--json", "--at", "2026-12-06T10:00:00+01:00", "--phone", "0612345678"
    )
    assert code == 0
    payload = json.loads(out)
    assert payload["allowed"] is False and payload["reason"] == "sunday"
    assert payload["next_allowed"] == "2026-12-07T08:00:00+01:00"
    assert payload["territory"] == "metropole" and payload["timezone"] == "Europe/Paris"
    assert payload["holiday"] is None


def test_calendar_check_names_the_holiday_of_the_recipients_territory() -> None:
    args = ("calendar", "check", "--json", "--at", "2027-03-26T10:00:00+01:00", "--phone")
    metz = json.loads(run(*args, "0612345678", "--postal-code", "57000")[1])
    assert (metz["reason"], metz["holiday"]) == ("public_holiday", "Vendredi saint")
    paris = json.loads(run(*args, "0612345678", "--postal-code", "75011")[1])
    assert paris["allowed"] is True and paris["holiday"] is None


def test_calendar_check_overseas_uses_local_time() -> None:
    code, out, _ = run(
        "calendar", "check", "--json", "--at", "2026-12-01T10:00:00+01:00",
        "--phone", "+596 696 12 34 56",
    )  # fmt: skip
    assert code == 0
    payload = json.loads(out)
    assert payload["reason"] == "quiet_hours" and payload["territory"] == "martinique"
    assert payload["next_allowed"] == "2026-12-01T08:00:00-04:00"


def test_calendar_check_bad_input_exits_2_with_a_message() -> None:
    code, _, err = run("calendar", "check", "--at", "tomorrow", "--phone", "0612345678")
    assert code == 2 and "--at" in err and "tomorrow" in err
    code, _, err = run("calendar", "check", "--at", "2026-12-01T10:00", "--phone", "12")
    assert code == 2 and "--phone" in err


def test_phone_info() -> None:
    code, out, _ = run("phone", "info", "--json", "0639 40 12 10")
    payload = json.loads(out)
    assert code == 0
    assert payload["e164"] == "+262639401210" and payload["territory"] == "mayotte"
    assert payload["mobile"] is True and payload["timezones"] == ["Indian/Mayotte"]
    code, _, err = run("phone", "info", "hello")
    assert code == 2 and "hello" in err


def test_demo_covers_every_basis_and_every_exclusion_reason() -> None:
    code, out, _ = run("demo", "--json")
    assert code == 0
    payload = json.loads(out)
    seen = {
        (row["decision"], row["basis"] or row["reason"])
        for campaign in payload["campaigns"]
        for row in campaign["rows"]
    }
    # The sample advertiser is a shop: it runs no political campaign (those codes are covered
    # by tests/unit/test_decision.py).
    political = {Basis.POLITICAL_MEMBERSHIP.value, Reason.POLITICAL_NO_CONSENT.value}
    assert {b.value for b in Basis} - political <= {
        code for decision, code in seen if decision == "send"
    }
    assert {r.value for r in Reason} - political <= {
        code for decision, code in seen if decision == "exclude"
    }
    deferrals = {row["deferral"] for c in payload["campaigns"] for row in c["rows"]}
    assert {"quiet_hours", "public_holiday"} <= deferrals


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("tambour")
    done = subprocess.run(
        [str(script), "sms", "count", "--json", "STOP"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["units"] == 4


def test_every_block_says_what_to_change() -> None:
    """A new block code without its remedy would print a generic hint: each has its own."""
    from tambour.cli.campaign_report import _REMEDIES, block_remedy
    from tambour.rules.codes import Block

    assert set(_REMEDIES) == set(Block)
    name = "Soldes d'été"
    for code in Block:  # each names the command to run, the campaign quoted for a shell
        assert f"tambour campaign edit {shlex.quote(name)}" in block_remedy(code.value, name)
