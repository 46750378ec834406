"""The README's `curl` session (section "HTTP API", issue 15) works as written, on SQLite and
PostgreSQL: its block is run by bash against `tambour serve` on a free port, then a worker sends
the message over SMPP to the local SMSC and `tambour webhook deliver` POSTs the events, which a
receiver checks with the `standardwebhooks` package and the secret the session printed.

What the session assumes is made first: the advertiser maison-lumiere, a consenting contact at
06 12 34 56 78, the server (clock from a Tuesday 10:00 in Paris, the instant the README's
example shows) and a webhook receiver on a free port, allowed by `[webhooks]
allow_private_targets = true` in TAMBOUR_CONFIG. In the block, only the server's address
changes (`http://127.0.0.1:8000`), `$HOOK` is the receiver's URL (given in the environment),
and the message's id in `GET .../messages/7` is the one the POST returned: an id is the
ledger's, 7 is the README's example of one. Each command's output is held against the example
in the comment after it. The GET's example shows the message delivered: it is run once at
once (the message as the POST returned it) and again after the worker (delivered, with its
part). The POST is run again too: replayed by its Idempotency-Key, and under another key, once
the person opted out, refused as the README's `422` example says.

The webhooks are delivered on the real clock (no TAMBOUR_NOW): a Standard Webhooks receiver
refuses a `webhook-timestamp` more than five minutes away from its own time."""

import json
import os
import re
import selectors
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from standardwebhooks import Webhook

from tests.dispatch_setup import write_contacts
from tests.integration.api_server import ApiServer
from tests.integration.cli import Cli
from tests.integration.webhook_receiver import serving

ROOT = Path(__file__).resolve().parents[2]
README_SERVER = "http://127.0.0.1:8000"
README_MESSAGE_ID = "7"
NUMBER = "06 12 34 56 78"
E164 = "+33612345678"
TUESDAY_10 = "2026-12-01T10:00:00+01:00"  # the send time the README's example shows
MESSAGE_TEXT = "Maison Lumière : -20 % sur les suspensions ce week-end, Léa0."


@dataclass
class Command:
    """One command of the session and the comment lines after it: what the README says it
    prints."""

    text: str
    said: list[str]


def session_block() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"A session with `curl`[^\n]*\n\n```sh\n(.*?)```\n", readme, re.S)
    assert found, "README.md has no `curl` session block (section HTTP API)"
    return found.group(1)


def commands(block: str) -> list[Command]:
    """The block's commands, each with the comment lines that follow it. A command runs on
    while its line ends with a backslash or a single quote is open."""
    found: list[Command] = []
    current: list[str] = []
    for line in block.splitlines():
        if not current and line.lstrip().startswith("#"):
            assert found, f"a comment before any command: {line!r}"
            found[-1].said.append(line.lstrip()[1:].strip())
            continue
        current.append(line)
        joined = "\n".join(current)
        if not line.endswith("\\") and joined.count("'") % 2 == 0:
            found.append(Command(joined, []))
            current = []
    assert not current, f"an unfinished command at the end of the block: {current}"
    return found


def bash_env(db_url: str, **extra: str) -> dict[str, str]:
    """A user's shell: `tambour` and `curl` on the PATH, the database, the tests' key; none of
    the other TAMBOUR_ variables of the environment the tests run in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAMBOUR_")}
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    env["TAMBOUR_DATABASE_URL"] = db_url
    env["TAMBOUR_SECRET_KEY"] = os.environ["TAMBOUR_SECRET_KEY"]
    return {**env, **extra}


def run_commands(
    script: list[str], folder: Path, env: dict[str, str], keep: tuple[str, ...] = ()
) -> tuple[list[str], dict[str, str]]:
    """Run the commands in one bash, in turn, each one's stdout kept apart (stderr too, checked
    empty of tracebacks); then the variables named in `keep`, as the session left them."""
    out = folder / "out"
    out.mkdir(exist_ok=True)
    for old in out.iterdir():
        old.unlink()
    lines = []
    for index, command in enumerate(script):
        lines.append(f'{{\n{command}\n}} >"$OUT/{index}.out" 2>"$OUT/{index}.err"')
        lines.append(f'echo $? >"$OUT/{index}.rc"')
    lines += [f'printf %s "${name}" >"$OUT/{name}.var"' for name in keep]
    done = subprocess.run(
        ["bash", "-c", "\n".join(lines)], cwd=folder, env={**env, "OUT": str(out)},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    printed = []
    for index, command in enumerate(script):
        err = (out / f"{index}.err").read_text()
        code = (out / f"{index}.rc").read_text().strip()
        assert code == "0", f"{command}\nexited {code}: {err}"
        assert "Traceback" not in err, err
        printed.append((out / f"{index}.out").read_text())
    return printed, {name: (out / f"{name}.var").read_text() for name in keep}


def said_json(said: list[str]) -> str:
    """The README's comment lines after a command, joined (an example may run on a second
    line)."""
    return " ".join(said)


MEMBER = re.compile(r'"(\w+)": ("(?:[^"\\]|\\.)*"|null|true|false|-?\d+)')
INSTANTS = ("send_at", "send_at_local")


def assert_like_the_readme(example: str, actual: dict[str, Any]) -> None:
    """Every `"name": value` member a README example shows is in `actual`, with that value: a
    string with `...` in it stands for any string with those ends; an id is the ledger's (the
    README's 7 is an example of one); an instant may be some seconds later than the example's,
    as the server's clock runs from TAMBOUR_NOW. The example shows at least one member."""
    shown = {name: json.loads(value) for name, value in MEMBER.findall(example)}
    assert shown, example
    for name, value in shown.items():
        assert name in actual, (name, example, actual)
        got = actual[name]
        if name == "id":
            assert isinstance(got, int)
        elif name in INSTANTS:
            then, now = datetime.fromisoformat(value), datetime.fromisoformat(got)
            assert then.utcoffset() == now.utcoffset(), (name, value, got)
            assert timedelta(0) <= now - then < timedelta(minutes=1), (name, value, got)
        elif isinstance(value, str) and "..." in value:
            head, tail = value.split("...", 1)
            assert got.startswith(head) and got.endswith(tail), (name, value, got)
        else:
            assert got == value, (name, value, got)


def post_examples(said: list[str]) -> tuple[str, str]:
    """The POST's comment: the 201 example (its lines joined) and the 422 one after `or`."""
    joined = " ".join(said)
    accepted, refusal = joined.split(" or ", 1)
    return accepted, refusal


@contextmanager
def local_smsc(env: dict[str, str]) -> Iterator[int]:
    """`tambour smsc` on a free port (its admin port too), as the first-hour recipe starts it;
    its SMPP port. Stopped by SIGTERM."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tambour", "smsc", "--port", "0", "--admin-port", "0",
         "--receipt-delay", "0.2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        chosen = selectors.DefaultSelector()
        chosen.register(process.stdout, selectors.EVENT_READ)
        assert chosen.select(30), "the local SMSC printed nothing"
        line = process.stdout.readline()
        found = re.search(r"SMSC listening on 127\.0\.0\.1:(\d+)", line)
        assert found, f"the local SMSC said {line!r}"
        yield int(found.group(1))
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def tambour(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "tambour", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"tambour {' '.join(args)}: {done.stdout}{done.stderr}"
    assert "Traceback" not in done.stderr
    return done.stdout


def test_the_curl_session_runs_as_written_and_its_webhooks_verify(
    db_url: str, tmp_path: Path
) -> None:
    assert shutil.which("curl"), "curl is not installed: the README's session needs it"
    session = commands(session_block())
    assert [c.text.split()[0] for c in session] == [
        "TOKEN=$(tambour", "curl", "curl", "curl",
    ], [c.text for c in session]  # fmt: skip
    key, endpoint, post, get = session
    assert "--advertiser maison-lumiere" in key.text
    assert all(README_SERVER in c.text for c in session[1:])
    assert "$HOOK" in endpoint.text
    one_message = f"{README_SERVER}/api/v1/messages/{README_MESSAGE_ID} "
    assert one_message in get.text, get.text

    # What the session assumes: the advertiser, the contact (consenting, with a first name),
    # a receiver of webhooks, and a server that may call a receiver on this host.
    cli = Cli(db_url)
    cli.advertiser("maison-lumiere")
    contacts = write_contacts(tmp_path / "clients.csv", [NUMBER])
    cli("contacts", "import", str(contacts), "--advertiser", "maison-lumiere")
    hooks_config = tmp_path / "tambour.toml"
    hooks_config.write_text("[webhooks]\nallow_private_targets = true\n", encoding="utf-8")

    with (
        serving() as receiver,
        ApiServer(
            db_url, tmp_path, env={"TAMBOUR_NOW": TUESDAY_10, "TAMBOUR_CONFIG": str(hooks_config)}
        ) as server,
    ):
        env = bash_env(db_url, HOOK=receiver.url)
        script = [c.text.replace(README_SERVER, server.url) for c in session]
        printed, kept = run_commands(script[:3], tmp_path, env, keep=("TOKEN",))
        token = kept["TOKEN"]
        assert token and printed[0] == "", printed[0]  # the token went into $TOKEN only

        # The endpoint: 201, its secret in the body, once.
        made = json.loads(printed[1])
        assert "the secret, once" in said_json(endpoint.said)
        assert_like_the_readme(endpoint.said[0], made)
        assert made["secret"].startswith("whsec_") and made["url"] == receiver.url
        assert sorted(made["events"]) == ["message.delivered", "message.submitted"]
        shown = server.get(f"/api/v1/webhooks/endpoints/{made['id']}", token=token).json()
        assert not shown.get("secret"), shown  # never shown again

        # The message: 201, queued on the consent basis, now (10:00 in Paris), STOP added.
        sent = json.loads(printed[2])
        accepted, refusal = post_examples(post.said)
        assert accepted.startswith("201 {") and refusal.startswith("422 {"), post.said
        assert_like_the_readme(accepted, sent)
        assert (sent["state"], sent["basis"], sent["deferral"]) == ("queued", "consent", None)
        assert sent["to"] == E164 and sent["sender"] == "MLUMIERE"
        assert sent["text"] == MESSAGE_TEXT + " STOP au 36111"
        statuses = {
            (line["method"], line["route"]): line["status"]
            for line in server.log_lines()
            if line.get("event") == "http_request"
        }
        assert statuses[("POST", "/api/v1/webhooks/endpoints")] == 201
        assert statuses[("POST", "/api/v1/messages")] == 201

        # Read back at once (its id the POST's): the message as the POST returned it, queued.
        read_it = script[3].replace(
            f"/api/v1/messages/{README_MESSAGE_ID} ", f"/api/v1/messages/{sent['id']} "
        )
        (printed_read,) = run_commands([read_it], tmp_path, {**env, "TOKEN": token})[0]
        read = json.loads(printed_read)
        assert read == sent

        # A worker sends it over SMPP to the local SMSC, at the server's instant; the events
        # are delivered on the real clock.
        smsc_env = bash_env(db_url, TAMBOUR_NOW=TUESDAY_10)
        with local_smsc(smsc_env) as port:
            worker_config = tmp_path / "worker.toml"
            worker_config.write_text(
                f'[transport]\nkind = "smpp"\nhost = "127.0.0.1"\nport = {port}\n'
                'system_id = "tambour"\npassword = "tambour"\n',
                encoding="utf-8",
            )
            said = tambour(
                {**smsc_env, "TAMBOUR_CONFIG": str(worker_config)},
                "worker", "--until-idle", "--no-webhooks", "--no-jobs",
            )  # fmt: skip
            assert re.search(r": 1 submitted, 0 failed", said), said
        delivery = tambour(
            bash_env(db_url, TAMBOUR_CONFIG=str(hooks_config)),
            "webhook", "deliver", "--until-idle", "--json",
        )  # fmt: skip
        assert json.loads(delivery)["delivered"] == 2, delivery

        # The GET of the session once the worker has sent it: what the README's comment shows.
        (again,) = run_commands([read_it], tmp_path, {**env, "TOKEN": token})[0]
        delivered = json.loads(again)
        (readme_read,) = get.said
        message_part, parts_part = readme_read.split('"parts": [', 1)
        assert_like_the_readme(message_part, delivered)
        assert_like_the_readme(parts_part, delivered["parts"][0])
        assert [(p["part"], p["outcome"]) for p in delivered["parts"]] == [(1, "delivered")]

        # The POST again as written: its Idempotency-Key replays the first answer, even once
        # the person has opted out; under a new key, the refusal the README shows.
        cli("optout", "add", NUMBER, "--advertiser", "maison-lumiere")
        refuse_it = script[2].replace("commande-4411", "commande-4412")
        assert refuse_it != script[2]
        twice = run_commands([script[2], refuse_it], tmp_path, {**env, "TOKEN": token})[0]
        assert json.loads(twice[0]) == sent
        problem = json.loads(twice[1])
        assert problem["status"] == 422
        assert_like_the_readme(refusal, problem)
        assert problem["code"] == "opted_out"
        log = server.log_path.read_text()

    # The receiver got message.submitted then message.delivered, each signed.
    payloads: list[dict[str, Any]] = []
    for got in receiver.received:
        assert got.headers["webhook-signature"].startswith("v1,")
        assert got.headers["webhook-id"] and got.headers["webhook-timestamp"]
        payloads.append(Webhook(made["secret"]).verify(got.body, got.headers))
    payloads.sort(key=lambda p: str(p["timestamp"]))
    assert [p["type"] for p in payloads] == ["message.submitted", "message.delivered"]
    for payload in payloads:
        assert payload["data"]["message_id"] == sent["id"] and payload["data"]["to"] == E164
        assert payload["data"]["state"] == payload["type"].split(".")[1]
    assert E164 not in log and "12 34 56 78" not in log and "suspensions" not in log
