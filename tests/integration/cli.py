"""Driving the real command line against a test database, as a user would."""

import json
from dataclasses import dataclass
from typing import Any

from typer.testing import CliRunner

from tambour.cli import app


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class Cli:
    def __init__(self, db_url: str, actor: str = "test:alice") -> None:
        self.env = {"TAMBOUR_DATABASE_URL": db_url, "TAMBOUR_ACTOR": actor}
        self.runner = CliRunner()

    def __call__(self, *args: str, ok: bool = True, stdin: str | None = None) -> Result:
        done = self.runner.invoke(
            app, list(args), env=self.env, catch_exceptions=False, input=stdin
        )
        result = Result(done.exit_code, done.stdout, done.stderr)
        if ok:
            assert result.code == 0, f"{args} exited {result.code}: {result.err or result.out}"
        return result

    def blocked_or_not(self, *args: str) -> Any:
        """`campaign create|plan|edit ... --json`: its payload, once checked that the command
        exited 3 exactly when a block stands (0 otherwise)."""
        result = self(*args, ok=False)
        assert result.code in (0, 3), f"{args} exited {result.code}: {result.err or result.out}"
        payload = result.json()
        assert result.code == (3 if payload["blocks"] else 0), (result.code, payload["blocks"])
        return payload

    def advertiser(self, slug: str = "maison-lumiere", *extra: str) -> None:
        # A sender ID belongs to one advertiser: another slug gets its own (COPIE for copie).
        sender = "MLUMIERE" if slug == "maison-lumiere" else slug.replace("-", "").upper()[:11]
        self(
            "advertiser", "create", slug, "--name", "Maison Lumière SAS", "--sender", sender,
            "--stop-number", "36111", "--categories", "luminaires;décoration", *extra,
        )  # fmt: skip
