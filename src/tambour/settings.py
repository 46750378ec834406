"""One typed settings object, built at start-up from the environment (never at import)."""

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass

from tambour.store.engine import DEFAULT_DATABASE_URL


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    actor: str = "cli"  # who the audit log says acted
    # TAMBOUR_NOW: an ISO 8601 instant Tambour takes as the time (tests, reproducible runs:
    # the same ledger, campaign and clock give the same plan). Unset: the real clock.
    now: str | None = None
    # TAMBOUR_FILES_DIR: where the API's uploads (files to import) and the exports its jobs
    # write are kept, owner-only; the server and the workers must both reach it.
    files_dir: str = "./tambour-files"
    # TAMBOUR_PUBLIC_URL: where people reach `tambour serve`'s public pages (consent forms),
    # e.g. https://forms.example.fr; the embed snippets and links name it. Unset: relative.
    public_url: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "unknown"
        return cls(
            database_url=env.get("TAMBOUR_DATABASE_URL") or DEFAULT_DATABASE_URL,
            actor=env.get("TAMBOUR_ACTOR") or f"cli:{user}",
            now=env.get("TAMBOUR_NOW") or None,
            files_dir=env.get("TAMBOUR_FILES_DIR") or "./tambour-files",
            public_url=(env.get("TAMBOUR_PUBLIC_URL") or "").rstrip("/"),
        )
