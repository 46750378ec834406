"""A job runner started on demand by a server that queued a job (the web app's import, plan or
export): `tambour jobs run --until-idle` as a child process of this one, so that a job asked
for in a browser runs even when `tambour serve` runs alone, without a `tambour worker` or a
`tambour jobs run` beside it.

Where runners are already at work (a worker's companion), the child finds the job claimed, or
claims it first: jobs are leased, so each runs once whoever takes it. The child runs what is due
then returns; it stops by itself when this process is gone (`--parent`), and at a lower CPU
priority (`--nice`), as a worker's companion does. At most one child at a time per process: a
job queued while one runs is seen by it, or by the next one started when it returns.

TAMBOUR_WEB_RUN_JOBS=0 leaves the jobs to the workers (a deployment whose web machines must not
import or plan): the page then says the job waits for a runner.
"""

import logging
import os
import subprocess
import sys
import threading
from typing import Final

log = logging.getLogger("tambour.jobs")

ENV: Final = "TAMBOUR_WEB_RUN_JOBS"
NICE: Final = 10


def enabled(environ: dict[str, str] | None = None) -> bool:
    """Whether this server runs the jobs it queues (TAMBOUR_WEB_RUN_JOBS, on by default)."""
    value = (os.environ if environ is None else environ).get(ENV, "1").strip().casefold()
    return value not in ("0", "false", "no", "off", "non")


def _command() -> list[str]:
    return [
        sys.executable, "-m", "tambour", "jobs", "run", "--until-idle",
        "--parent", str(os.getpid()), "--nice", str(NICE),
    ]  # fmt: skip


class _Children:
    """This process's runner children: one at a time, started again while jobs were queued
    during the last one."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.wanted = False  # a job was queued since the running child started
        self.thread: threading.Thread | None = None

    def kick(self) -> None:
        with self.lock:
            self.wanted = True
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="jobs-on-demand", daemon=True)
                self.thread.start()

    def _run(self) -> None:
        while True:
            with self.lock:
                if not self.wanted:
                    self.thread = None
                    return
                self.wanted = False
            try:
                child = subprocess.Popen(
                    _command(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL
                )
            except OSError as error:
                log.error(
                    "cannot start a job runner: %s",
                    error.strerror or error,
                    extra={"event": "jobs_runner_failed"},
                )
                with self.lock:
                    self.thread = None
                return
            code = child.wait()
            if code:
                log.warning(
                    "the job runner started for a queued job stopped (exit code %s)",
                    code,
                    extra={"event": "jobs_runner_died", "code": code},
                )


_children = _Children()


def kick() -> bool:
    """A job was just queued: make sure a runner will look at the queue soon (a child of this
    process, unless one is running and will). False when this server leaves jobs to workers."""
    if not enabled():
        return False
    _children.kick()
    return True
