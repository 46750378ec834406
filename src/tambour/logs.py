"""Structured log lines for long-running processes (`tambour worker`, `tambour smsc`): one JSON
object a line, for an operator's log collector (journald, Loki, Elasticsearch) to read without
parsing prose: `{"at": ..., "level": ..., "logger": ..., "event": ..., "message": ...}` and the
event's own fields (a log call's `extra`). An error's traceback comes as one `error` field.

Nothing here knows phone numbers or message texts: the callers never log them (the dispatcher
names messages by their outbox id); a field whose value looks like a phone number is masked all
the same, for a mistake must not put one in a log collector for years.
"""

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, Final

LEVELS: Final = ("debug", "info", "warning", "error")
# What a log record carries besides its call's `extra`: never copied as a field.
_STANDARD: Final = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys() | {"message", "asctime"}
)
_PHONE: Final = re.compile(r"\+?\d[\d .-]{7,}\d")


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return _PHONE.sub("[number]", value)
    return value


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": getattr(record, "event", None) or "log",
            "message": _masked(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key != "event" and not key.startswith("_"):
                line[key] = _masked(value)
        if record.exc_info:
            line["error"] = _masked(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)


def configure(level: str = "info", structured: bool = True) -> None:
    """Log to stderr at `level` (one of LEVELS), as JSON lines or, for a person at a
    terminal, as plain lines."""
    handler = logging.StreamHandler(sys.stderr)
    if structured:
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
