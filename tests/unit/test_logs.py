"""The worker's structured log lines (tambour/logs.py): one JSON object a line, with the event's
fields, and never a phone number, even one a caller put in by mistake."""

import json
import logging

from tambour.logs import JsonLines


def _line(message: str, *args: object, **extra: object) -> dict[str, object]:
    record = logging.LogRecord("tambour.test", logging.WARNING, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    formatted = JsonLines().format(record)
    assert "\n" not in formatted
    parsed: dict[str, object] = json.loads(formatted)
    return parsed


def test_a_line_carries_its_event_and_fields() -> None:
    line = _line("database back after %.1f s", 3.25, event="database_back", seconds=3.2)
    assert line["event"] == "database_back" and line["seconds"] == 3.2
    assert line["level"] == "warning" and line["logger"] == "tambour.test"
    assert line["message"] == "database back after 3.2 s"
    assert str(line["at"]).endswith("+00:00")


def test_a_line_without_an_event_is_a_plain_log() -> None:
    assert _line("hello")["event"] == "log"


def test_a_phone_number_never_reaches_the_log() -> None:
    line = _line("message to %s failed", "+33612345678", recipient="06 12 34 56 78")
    assert "612345678" not in json.dumps(line) and "12 34 56" not in json.dumps(line)
    assert line["message"] == "message to [number] failed"
    # ids and counts are not numbers of people
    assert _line("message %s: %d parts", 1234, 3)["message"] == "message 1234: 3 parts"
