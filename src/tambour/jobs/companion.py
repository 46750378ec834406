"""What a `tambour worker` keeps beside its dispatching: the job runner, `tambour jobs run`, and
the webhook deliverer, `tambour webhook deliver`, each as a child process, so that an import or
a plan (which fork, and hold the cores and the GIL for minutes), or a thousand webhooks a
second, never slow the sending loop. A child that dies is started again after a pause; it
stops by itself when the worker is gone (killed without a word), and is asked to stop (its
job queued again) when the worker stops. With `until_idle`, the child too returns once no job
is due, and the worker waits for it."""

import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

log = logging.getLogger("tambour.jobs")

RESTART_SECONDS: Final = 5.0
STOP_SECONDS: Final = 60.0  # for the job under way to reach a step and be queued again
# The runner's CPU priority below the worker's: an import or a plan (several processes) takes
# the cores the sending loop leaves, not the other way round.
NICE: Final = 10


def _command(*, until_idle: bool, log_level: str, log_format: str) -> list[str]:
    return [
        sys.executable, "-m", "tambour", "jobs", "run", "--parent", str(os.getpid()),
        "--nice", str(NICE), "--log-level", log_level, "--log-format", log_format,
        *(["--until-idle"] if until_idle else []),
    ]  # fmt: skip


class _Companion(threading.Thread):
    """Starts the child, and starts it again when it dies, until told to stop."""

    def __init__(self, command: list[str], *, until_idle: bool, what: str = "job runner") -> None:
        super().__init__(name=f"{what.replace(' ', '-')}-companion", daemon=True)
        self.what = what
        self.command = command
        self.until_idle = until_idle
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.child: subprocess.Popen[bytes] | None = None

    def run(self) -> None:
        while not self.stopping.is_set():
            with self.lock:
                if self.stopping.is_set():
                    return
                self.child = subprocess.Popen(
                    self.command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL
                )
            code = self.child.wait()
            if self.stopping.is_set() or (self.until_idle and code == 0):
                return
            if self.until_idle:  # its work was to end: not started again
                log.warning(
                    "the %s stopped (exit code %s)",
                    self.what,
                    code,
                    extra={"event": "jobs_runner_died", "code": code},
                )
                return
            log.warning(
                "the %s stopped (exit code %s); starting it again in %s s",
                self.what,
                code,
                RESTART_SECONDS,
                extra={"event": "jobs_runner_died", "code": code},
            )
            self.stopping.wait(RESTART_SECONDS)

    def stop(self) -> None:
        """Ask the child to stop (SIGTERM: its job is queued again), then wait for it."""
        with self.lock:
            self.stopping.set()
            child = self.child
        if child is None or child.poll() is not None:
            return
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            child.kill()  # its lease runs out; the rescue queues its job again
            child.wait()


def _webhooks_command(*, until_idle: bool, log_level: str, log_format: str) -> list[str]:
    return [
        sys.executable, "-m", "tambour", "webhook", "deliver", "--parent", str(os.getpid()),
        "--log-level", log_level, "--log-format", log_format,
        *(["--until-idle"] if until_idle else []),
    ]  # fmt: skip


@contextmanager
def jobs_beside(
    *, enabled: bool, until_idle: bool, log_level: str, log_format: str, webhooks: bool = False
) -> Iterator[None]:
    """Run `tambour jobs run` as a child while the block runs (nothing when not `enabled`),
    and `tambour webhook deliver` as another when `webhooks`. With `until_idle`, wait for them
    at the end (each ends once nothing is due); else stop them."""
    companions = []
    if enabled:
        command = _command(until_idle=until_idle, log_level=log_level, log_format=log_format)
        companions.append(_Companion(command, until_idle=until_idle))
    if webhooks:
        command = _webhooks_command(
            until_idle=until_idle, log_level=log_level, log_format=log_format
        )
        companions.append(_Companion(command, until_idle=until_idle, what="deliverer"))
    for companion in companions:
        companion.start()
    try:
        yield
    except BaseException:
        for companion in companions:
            companion.stop()
            companion.join()
        raise
    for companion in companions:
        if not until_idle:
            companion.stop()
        companion.join()
