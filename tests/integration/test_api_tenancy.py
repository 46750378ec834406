"""Tenant isolation over the whole API, against `tambour serve` on SQLite and PostgreSQL.

Advertiser B (copie) gets one object of every kind the API addresses by id, made through the
API with B's own key (and `tambour jobs run`, and the reply service the workers call): a
consenting contact, a planned and a launched campaign, a message, a finished export job with
its file and a queued job, a webhook endpoint with deliveries, a reply, an opted-out number.
Then, from the served OpenAPI document (so that a route added later is covered, or the test
says what it cannot fill in):

- every operation whose path names an object is called with a key of advertiser A holding
  every advertiser scope, on B's object: 404 problem+json, as for an object that does not
  exist, and nothing of B's changed (B's whole view, read with B's key, before and after);
- every operation taking `?advertiser=` is called by A naming copie: 404;
- the operator-only operations are 403 for A's key;
- every list shows A its own objects and none of B's;
- an Idempotency-Key B used is A's own: A never gets B's stored answer back.
"""

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import httpx
import pytest
from sqlalchemy import Engine

from tambour.rules.replies import classify_reply
from tambour.services.replies import record_replies
from tambour.traffic import Reply
from tests.integration.api_server import ApiServer, assert_problem, new_key
from tests.integration.api_tenants import two_advertisers
from tests.integration.cli import Cli

V1: Final = "/api/v1"
OPENAPI: Final = f"{V1}/openapi.json"
NOW: Final = "2027-03-23T10:00:00+01:00"  # a Tuesday morning in Paris: the window is open
LATER: Final = "2027-03-23T10:05:00+01:00"  # the job runner's clock, after the server's
NONE_SUCH: Final = 2**63 - 1  # a valid id that no object has
# What names no object for the parameters that are not ids.
NONE_SUCH_BY_NAME: Final[dict[str, object]] = {
    "slug": "nobody", "form": "personne", "wording_hash": "sha256:" + "0" * 64,
}  # fmt: skip
METHODS: Final = ("get", "post", "put", "patch", "delete")

B_PERSON: Final = "+33611000001"  # copie's contact
B_OPTED: Final = "+33611000002"  # a number copie opted out (not a contact of anyone)
A_PERSON: Final = "+33622000001"  # maison-lumiere's contact
A_REPORTER: Final = "+33622000009"  # who reported a message of maison-lumiere to the 33700
SECRET_WORDS: Final = ("Copie", "COPIE", "copie-", B_PERSON, B_OPTED, "611000001", "611000002")


def consent(advertiser: str) -> dict[str, Any]:
    return {
        "given": True,
        "at": "2027-01-10T14:05:00+01:00",
        "method": "web_form",
        "wording": f"J'accepte de recevoir les offres de {advertiser} par SMS",
    }


@dataclass
class World:
    """The two advertisers' keys, and the ids of B's objects by the path parameter naming
    them (each id is tried on every route taking that parameter)."""

    a: str  # maison-lumiere, scopes read, write, send
    b: str  # copie, scopes read, write, send
    ids: dict[str, list[Any]] = field(default_factory=dict)
    export_job: int = 0
    endpoint: int = 0
    a_ids: dict[str, list[Any]] = field(default_factory=dict)
    b_posts: list[tuple[str, str, dict[str, Any], httpx.Response]] = field(default_factory=list)
    posted: int = 0


def serve(db_url: str, tmp_path: Path) -> ApiServer:
    env = {"TAMBOUR_NOW": NOW, "TAMBOUR_FILES_DIR": str(tmp_path / "files")}
    return ApiServer(db_url, tmp_path, env=env)


def run_jobs(db_url: str, tmp_path: Path) -> None:
    """`tambour jobs run --until-idle` in a process of its own, as a worker machine runs it."""
    env = {
        **os.environ,
        "TAMBOUR_DATABASE_URL": db_url,
        "TAMBOUR_NOW": LATER,
        "TAMBOUR_FILES_DIR": str(tmp_path / "files"),
        "TAMBOUR_ACTOR": "test:runner",
    }
    done = subprocess.run(
        [sys.executable, "-m", "tambour", "jobs", "run", "--until-idle", "--log-level", "warning"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def made(
    server: ApiServer, token: str, path: str, body: dict[str, Any] | None, world: World
) -> dict[str, Any]:
    """POST `body` to `path` with `token` and an Idempotency-Key; the object made (2xx)."""
    world.posted += 1
    key = f"tenancy-{world.posted}"  # each POST its own, whoever sends it
    response = server.post(path, token=token, json=body, headers={"Idempotency-Key": key})
    assert response.status_code in (200, 201, 202), (path, response.text)
    if token == world.b:
        world.b_posts.append((path, key, body or {}, response))
    found: dict[str, Any] = response.json()
    return found


def received(engine: Engine, number: str, short_number: str) -> int:
    """A reply recorded as the workers record one (services/replies.record_replies)."""
    text = "Quels sont vos horaires ?"
    reply = Reply(number, number, short_number, text, classify_reply(text))
    with engine.begin() as conn:
        (effect,) = record_replies(
            conn, [reply], now=datetime.fromisoformat(NOW), actor="worker:test"
        )
    (reply_id,) = effect.kept
    return reply_id


def delivered(server: ApiServer, endpoint: int, token: str) -> list[dict[str, Any]]:
    """The endpoint's deliveries (one at least: every job finished is an event)."""
    found = server.get(f"{V1}/webhooks/endpoints/{endpoint}/deliveries", token=token)
    items: list[dict[str, Any]] = found.json()["items"]
    assert items, found.text
    return items


def build(server: ApiServer, db_url: str, engine: Engine, tmp_path: Path) -> World:
    """B's objects of every kind, and a few of A's own (so that A's lists are not empty)."""
    cli = Cli(db_url)
    two_advertisers(cli)
    world = World(
        a=new_key(db_url, "--advertiser", "maison-lumiere", "--scopes", "read,write,send"),
        b=new_key(db_url, "--advertiser", "copie", "--scopes", "read,write,send"),
    )
    b, a = world.b, world.a
    # Webhook endpoints first: every event after this is a delivery.
    world.endpoint = made(
        server, b, f"{V1}/webhooks/endpoints", {"url": "https://hooks.example.com/copie"}, world
    )["id"]
    a_endpoint = made(
        server, a, f"{V1}/webhooks/endpoints", {"url": "https://hooks.example.com/ml"}, world
    )["id"]
    contact = made(
        server, b, f"{V1}/contacts",
        {"number": B_PERSON, "first_name": "Jean", "consent": consent("Copie")}, world,
    )["id"]  # fmt: skip
    a_contact = made(
        server, a, f"{V1}/contacts",
        {"number": A_PERSON, "first_name": "Léa", "consent": consent("Maison Lumière")}, world,
    )["id"]  # fmt: skip
    made(server, b, f"{V1}/optouts", {"number": B_OPTED}, world)  # contact.opted_out
    asked = {"kind": "erasure", "requester": "la personne"}
    b_request = made(server, b, f"{V1}/data-requests", {**asked, "number": B_PERSON}, world)["id"]
    a_request = made(server, a, f"{V1}/data-requests", {**asked, "number": A_PERSON}, world)["id"]
    # A 33700 report each: B's about the number it opted out, A's about a number of its own.
    reported = {"reported_at": "2027-03-22T18:00:00+01:00", "text": "Promo"}
    b_report = {"number": B_OPTED, "sender": "COPIE", **reported}
    made(server, b, f"{V1}/complaints", {"reports": [b_report]}, world)
    a_report = {"number": A_REPORTER, "sender": "MLUMIERE", **reported}
    made(server, a, f"{V1}/complaints", {"reports": [a_report]}, world)
    b_form = made(server, b, f"{V1}/forms", {"slug": "inscription"}, world)
    a_form = made(server, a, f"{V1}/forms", {"slug": "newsletter"}, world)
    message = made(
        server, b, f"{V1}/messages",
        {"to": B_PERSON, "sender": "COPIE", "nature": "transactional", "transaction": "CMD-9",
         "text": "Copie : votre commande {transaction} est prête."}, world,
    )["id"]  # fmt: skip
    text = "Copie : -10% sur vos impressions cette semaine."
    definition = {"nature": "commercial", "sender": "COPIE", "text": text}
    planned = made(server, b, f"{V1}/campaigns", {"name": "Rentrée", **definition}, world)["id"]
    launched = made(server, b, f"{V1}/campaigns", {"name": "Soldes", **definition}, world)["id"]
    a_campaign = made(
        server, a, f"{V1}/campaigns",
        {"name": "Printemps", "nature": "commercial", "sender": "MLUMIERE",
         "text": "Maison Lumière : -20% sur nos luminaires cette semaine."}, world,
    )["id"]  # fmt: skip
    plans = [
        made(server, b, f"{V1}/campaigns/{c}/plan", None, world)["id"] for c in (planned, launched)
    ]
    a_plan = made(server, a, f"{V1}/campaigns/{a_campaign}/plan", None, world)["id"]
    world.export_job = made(server, b, f"{V1}/contacts/exports", {"form": "csv"}, world)["id"]
    a_job = made(server, a, f"{V1}/contacts/exports", {"form": "csv"}, world)["id"]
    run_jobs(db_url, tmp_path)
    for job, owner in ((plans[0], b), (plans[1], b), (world.export_job, b), (a_job, a),
                       (a_plan, a)):  # fmt: skip
        state = server.get(f"{V1}/jobs/{job}", token=owner).json()
        assert state["state"] == "succeeded", state
    assert made(server, b, f"{V1}/campaigns/{launched}/launch", None, world)["queued"] == 1
    status = server.get(f"{V1}/campaigns/{planned}", token=b).json()
    assert status["status"] == "planned" and status["plan"]["send"] == 1, status
    queued_job = made(server, b, f"{V1}/contacts/exports", {"form": "excel"}, world)["id"]
    reply = received(engine, B_PERSON, "36222")
    a_reply = received(engine, A_PERSON, "36111")
    deliveries = delivered(server, world.endpoint, b)
    a_deliveries = delivered(server, a_endpoint, a)
    world.ids = {
        "contact_id": [contact],
        "campaign_id": [planned, launched],
        "message_id": [message],
        "job_id": [world.export_job, queued_job, *plans],
        "endpoint_id": [world.endpoint],
        "delivery_id": [d["id"] for d in deliveries],
        "reply_id": [reply],
        "request_id": [b_request],
        "form": [b_form["slug"]],
        "wording_hash": [b_form["current"]["wording_hash"]],
    }
    world.a_ids = {
        "contact_id": [a_contact],
        "campaign_id": [a_campaign],
        "job_id": [a_job, a_plan],
        "endpoint_id": [a_endpoint],
        "delivery_id": [d["id"] for d in a_deliveries],
        "reply_id": [a_reply],
        "request_id": [a_request],
        "form": [a_form["slug"]],
        "wording_hash": [a_form["current"]["wording_hash"]],
    }
    return world


def b_view(server: ApiServer, world: World, tmp_path: Path) -> dict[str, Any]:
    """Everything of B's that a route could change, read with B's own key: each read's status
    and body (a change from 200 is a change too), the export's bytes, the files written."""
    b = world.b
    paths = [
        f"{V1}/advertisers/copie",
        f"{V1}/contacts",
        f"{V1}/campaigns",
        f"{V1}/jobs",
        f"{V1}/replies",
        f"{V1}/webhooks/endpoints",
        f"{V1}/data-requests",
        *(f"{V1}/data-requests/{i}" for i in world.ids["request_id"]),
        f"{V1}/complaints",
        f"{V1}/complaints/rates",
        f"{V1}/forms",
        *(f"{V1}/forms/{slug}" for slug in world.ids["form"]),
        *(f"{V1}/form-wordings/{digest}" for digest in world.ids["wording_hash"]),
        f"{V1}/optouts/{B_OPTED}",
        f"{V1}/optouts/{B_PERSON}",
        f"{V1}/processing-record",
        *(f"{V1}/contacts/{i}" for i in world.ids["contact_id"]),
        *(f"{V1}/messages/{i}" for i in world.ids["message_id"]),
        *(f"{V1}/webhooks/deliveries/{i}" for i in world.ids["delivery_id"]),
    ]
    for campaign in world.ids["campaign_id"]:
        paths += [f"{V1}/campaigns/{campaign}/{part}" for part in ("", "report", "rows")]
    for endpoint in world.ids["endpoint_id"]:
        paths += [f"{V1}/webhooks/endpoints/{endpoint}", f"{V1}/webhooks/endpoints/{endpoint}"
                  "/deliveries"]  # fmt: skip
    view: dict[str, Any] = {}
    for path in paths:
        response = server.get(path.rstrip("/"), token=b)
        body = response.json()
        if path.endswith("/processing-record"):
            body.pop("made_at")  # the server's running clock: all else must stay
        if path.endswith("/rates"):
            body.pop("at")  # the server's clock runs: when the rates were read
        view[path] = (response.status_code, body)
    exported = server.get(f"{V1}/jobs/{world.export_job}/file", token=b)
    view["export file"] = (exported.status_code, exported.content)
    files = tmp_path / "files"
    view["files"] = sorted(str(p.relative_to(files)) for p in files.rglob("*"))
    return view


# --- the OpenAPI document ------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.method.upper()} {self.path}"

    @property
    def operation_id(self) -> str:
        found: str = self.spec.get("operationId", self.name)
        return found

    def parameters(self, where: str) -> list[dict[str, Any]]:
        return [p for p in self.spec.get("parameters", []) if p["in"] == where]

    def path_names(self) -> list[str]:
        return [p["name"] for p in self.parameters("path")]

    def takes_advertiser(self) -> bool:
        return any(p["name"] == "advertiser" for p in self.parameters("query"))


def operations(server: ApiServer) -> list[Operation]:
    document = server.get(OPENAPI)
    assert document.status_code == 200, document.text
    found = [
        Operation(method, path, spec)
        for path, item in document.json()["paths"].items()
        for method, spec in item.items()
        if method in METHODS
    ]
    assert len(found) > 20, "the served document lists the API's operations"
    return found


# How A's requests are filled in. A body for each operation taking one (by its operationId);
# an operation whose body is required and not here fails the test, saying so.
Body = dict[str, Any]
BODIES: Final[dict[str, Body]] = {
    "create_advertiser": {
        "json": {"slug": "intrus", "name": "Intrus", "senders": ["INTRUS"], "stop_number": "36333"}
    },
    "update_advertiser": {"json": {"name": "Copie volée"}},
    "run_retention": {"json": {"dry_run": True}},
    "save_contact": {"json": {"number": "+33633000001", "first_name": "Intrus"}},
    "import_contacts": {
        "content": b"phone,first_name\n+33633000002,Intrus\n",
        "headers": {"Content-Type": "text/csv"},
    },
    "export_contacts": {"json": {"form": "csv"}},
    "add_optout": {"json": {"number": B_PERSON}},
    "add_data_request": {"json": {"kind": "erasure", "number": B_PERSON, "requester": "Intrus"}},
    "extend_data_request": {"json": {"reason": "Intrus"}},
    "refuse_data_request": {"json": {"reason": "Intrus"}},
    "answer_data_request": {"json": {}},
    "add_complaints": {
        "json": {"reports": [{"number": B_PERSON, "sender": "COPIE", "reported_at": "2027-03-22"}]}
    },
    "add_platform_complaints": {
        "json": {"reports": [{"number": B_PERSON, "sender": "COPIE", "reported_at": "2027-03-22"}]}
    },
    "import_complaints": {
        "content": f"number,sender,reported_at\n{B_PERSON},COPIE,2027-03-22\n".encode(),
        "headers": {"Content-Type": "text/csv"},
    },
    "create_form": {"json": {"slug": "intrusion"}},
    "update_form": {"json": {"double_opt_in": True}},
    "publish_form": {
        "json": {
            "kind": "consent",
            "title": {"fr": "Intrus"},
            "information": {"fr": "Intrus"},
            "purposes": [{"key": "sms", "channels": ["sms"], "label": {"fr": "Intrus"}}],
        }
    },
    "create_campaign": {
        "json": {
            "name": "Intruse",
            "nature": "commercial",
            "sender": "COPIE",
            "text": "Copie : rien.",
        }
    },
    "edit_campaign": {"json": {"text": "Copie : -90% sur tout, dépêchez-vous."}},
    "export_campaign": {"json": {"form": "json"}},
    "send_message": {
        "json": {
            "to": B_PERSON,
            "sender": "COPIE",
            "nature": "transactional",
            "transaction": "X",
            "text": "Copie : {transaction}.",
        }
    },
    "create_webhook_endpoint": {"json": {"url": "https://hooks.example.com/intrus"}},
    "update_webhook_endpoint": {"json": {"enabled": False}},
    "rotate_webhook_secret": {"json": {"overlap_hours": 0}},
}


def body_of(operation: Operation) -> Body:
    """The request's body (httpx keyword arguments): from BODIES, or none when the operation
    takes none or takes one optionally."""
    body = operation.spec.get("requestBody")
    if body is None:
        return {}
    if operation.operation_id in BODIES:
        return dict(BODIES[operation.operation_id])
    if body.get("required"):
        pytest.fail(
            f"{operation.name} ({operation.operation_id}) takes a required body: add a minimal "
            "valid one to BODIES in tests/integration/test_api_tenancy.py"
        )
    return {}


def required_elsewhere(operation: Operation) -> list[str]:
    """Required query or header parameters (none of the API's takes one today)."""
    return [
        p["name"]
        for where in ("query", "header")
        for p in operation.parameters(where)
        if p.get("required")
    ]


# What each path parameter names, and what A's key must get for B's: the problem code of a
# 404. `number` is not an object but a number: A asking about a number B opted out is told it
# is not opted out (A's own list), never B's opposition.
NOT_FOUND: Final[dict[str, str]] = {
    "contact_id": "contact_not_found",
    "campaign_id": "campaign_not_found",
    "message_id": "message_not_found",
    "job_id": "job_not_found",
    "endpoint_id": "endpoint_not_found",
    "delivery_id": "delivery_not_found",
    "reply_id": "reply_not_found",
    "request_id": "request_not_found",
    "form": "form_not_found",
    "wording_hash": "version_not_found",
    "slug": "advertiser_not_found",
}
OTHER_PARAMETERS: Final = ("number",)


def values_of(name: str, world: World) -> list[Any]:
    if name == "slug":
        return ["copie"]
    if name == "number":
        return [B_OPTED]
    return world.ids[name]


def url_of(operation: Operation, values: dict[str, Any]) -> str:
    return operation.path.format(**values)


# --- the tests -----------------------------------------------------------------------------


@pytest.fixture
def world_and_server(
    db_url: str, engine: Engine, tmp_path: Path
) -> Iterator[tuple[World, ApiServer]]:
    with serve(db_url, tmp_path) as server:
        yield build(server, db_url, engine, tmp_path), server
        logged = server.log_path.read_text()
    for number in (B_PERSON, B_OPTED, A_PERSON, A_REPORTER):  # in paths and bodies: never logged
        assert number[3:] not in logged, number


def readable(view: dict[str, Any]) -> dict[str, Any]:
    """`view`, once checked that B reads all of it (200)."""
    refused = {path: got for path, got in view.items() if path != "files" and got[0] != 200}
    assert not refused, refused
    return view


def test_every_route_naming_an_object_is_404_for_another_advertisers_key(
    world_and_server: tuple[World, ApiServer], tmp_path: Path
) -> None:
    world, server = world_and_server
    before = readable(b_view(server, world, tmp_path))
    covered: set[str] = set()
    tried = 0
    for operation in operations(server):
        names = operation.path_names()
        if not names:
            continue
        unknown = [n for n in names if n not in NOT_FOUND and n not in OTHER_PARAMETERS]
        if unknown:
            pytest.fail(
                f"{operation.name}: no way to fill in the path parameter(s) {unknown}; add what "
                "they name to NOT_FOUND (and World.ids) in tests/integration/test_api_tenancy.py"
            )
        if required_elsewhere(operation):
            pytest.fail(f"{operation.name}: required {required_elsewhere(operation)}: fill them in")
        (name,) = names  # one object per path today; two would need their pairs here
        covered.add(name)
        for value in values_of(name, world):
            url = url_of(operation, {name: value})
            response = server.request(operation.method, url, token=world.a, **body_of(operation))
            tried += 1
            if name == "number":
                assert response.status_code == 200, (operation.name, response.text)
                told = response.json()
                assert told["opted_out"] is False and told["source"] is None, (url, told)
            else:
                problem = assert_problem(response, 404, NOT_FOUND[name])
                # Exactly as for an object that does not exist.
                none_such = server.request(
                    operation.method,
                    url_of(operation, {name: NONE_SUCH_BY_NAME.get(name, NONE_SUCH)}),
                    token=world.a,
                    **body_of(operation),
                )
                missing = assert_problem(none_such, 404, NOT_FOUND[name])
                assert problem["title"] == missing["title"], (problem, missing)
            after = b_view(server, world, tmp_path)
            changed = sorted(k for k in before if before[k] != after[k])
            assert not changed, f"{operation.name} with A's key on {url} changed B's {changed}"
    assert covered >= {*NOT_FOUND, *OTHER_PARAMETERS}, covered
    assert tried >= 25, tried


def test_naming_another_advertiser_is_404_and_operator_routes_are_403(
    world_and_server: tuple[World, ApiServer], tmp_path: Path
) -> None:
    world, server = world_and_server
    before = readable(b_view(server, world, tmp_path))
    naming = 0
    for operation in operations(server):
        if operation.takes_advertiser():
            values = {n: values_of(n, world)[0] for n in operation.path_names()}
            url = url_of(operation, values)
            response = server.request(
                operation.method,
                url,
                token=world.a,
                params={"advertiser": "copie"},
                **body_of(operation),
            )
            assert_problem(response, 404, "advertiser_not_found")
            naming += 1
            assert b_view(server, world, tmp_path) == before, f"{operation.name} ?advertiser=copie"
    assert naming >= 20, naming

    # The operator's: refused to an advertiser's key whatever its scopes, its own advertiser
    # included (another's is 404, above: GET and PATCH /advertisers/{slug}).
    operator_only = [
        o for o in operations(server) if o.spec.get("summary", "").endswith("(operator)")
    ]
    assert {o.operation_id for o in operator_only} >= {"create_advertiser", "update_advertiser"}
    for operation in operator_only:
        url = url_of(operation, dict.fromkeys(operation.path_names(), "maison-lumiere"))
        response = server.request(operation.method, url, token=world.a, **body_of(operation))
        assert_problem(response, 403, "missing_scope")
    listed = server.get(f"{V1}/advertisers", token=world.a).json()
    assert [a["slug"] for a in listed["items"]] == ["maison-lumiere"]
    assert b_view(server, world, tmp_path) == before


# Each list (a GET whose answer is a page of `items`), how A calls it, and which of B's ids
# must never be in it. A list not here fails the test, saying so.
LISTS: Final[dict[str, tuple[str | None, str | None]]] = {
    # path: (the path parameter, filled with A's own object; the kind of B's ids listed)
    f"{V1}/advertisers": (None, None),
    f"{V1}/contacts": (None, "contact_id"),
    f"{V1}/replies": (None, "reply_id"),
    f"{V1}/campaigns": (None, "campaign_id"),
    f"{V1}/campaigns/{{campaign_id}}/rows": ("campaign_id", None),
    f"{V1}/jobs": (None, "job_id"),
    f"{V1}/webhooks/endpoints": (None, "endpoint_id"),
    f"{V1}/webhooks/endpoints/{{endpoint_id}}/deliveries": ("endpoint_id", "delivery_id"),
}


def is_page(operation: Operation, schemas: dict[str, Any]) -> bool:
    content = operation.spec.get("responses", {}).get("200", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    while "$ref" in schema:
        schema = schemas[schema["$ref"].rsplit("/", 1)[1]]
    return "items" in schema.get("properties", {})


def test_lists_show_a_key_its_own_objects_never_anothers(
    world_and_server: tuple[World, ApiServer],
) -> None:
    world, server = world_and_server
    schemas = server.get(OPENAPI).json()["components"]["schemas"]
    lists = [o for o in operations(server) if o.method == "get" and is_page(o, schemas)]
    unknown = sorted(o.path for o in lists if o.path not in LISTS)
    assert not unknown, f"lists without an entry in LISTS (test_api_tenancy.py): {unknown}"
    for operation in lists:
        parameter, kind = LISTS[operation.path]
        url = operation.path
        if parameter is not None:
            url = url_of(operation, {parameter: world.a_ids[parameter][0]})
        response = server.get(url, token=world.a)
        assert response.status_code == 200, (url, response.text)
        items = response.json()["items"]
        assert items, f"{url}: A's own objects are listed"
        if kind is not None:
            listed = {item["id"] for item in items}
            assert listed <= set(world.a_ids[kind]), (url, listed, world.a_ids[kind])
            assert not listed & set(world.ids[kind]), (url, listed)
        leaked = [word for word in SECRET_WORDS if word in response.text]
        assert not leaked, f"{url} with A's key shows {leaked}: {response.text}"
    # A's record of processing counts A's own data and names none of B's.
    record = server.get(f"{V1}/processing-record", token=world.a, params={"format": "markdown"})
    assert record.status_code == 200 and "Maison Lumière" in record.text, record.text
    leaked = [word for word in SECRET_WORDS if word in record.text]
    assert not leaked, f"A's record of processing shows {leaked}"
    data = server.get(f"{V1}/processing-record", token=world.a).json()
    assert {e["host"] for e in data["endpoints"]} == {"hooks.example.com"}
    assert {c["code"]: c["count"] for c in data["people"]}["person"] == 1
    # A list filtered on B's own number: nothing.
    assert server.get(f"{V1}/contacts", token=world.a, params={"number": B_PERSON}).json() == {
        "items": [],
        "next": None,
    }


def test_an_idempotency_key_another_advertiser_used_is_never_replayed(
    world_and_server: tuple[World, ApiServer],
) -> None:
    """B's POSTs, sent again by A with B's very Idempotency-Key and body: A's own requests
    (made, refused or 404), never B's stored answer."""
    world, server = world_and_server
    assert len(world.b_posts) >= 8
    for path, key, body, first in world.b_posts:
        again = server.post(path, token=world.a, json=body or None,
                            headers={"Idempotency-Key": key})  # fmt: skip
        assert "idempotent-replayed" not in again.headers, (path, again.text)
        assert again.content != first.content, path
        leaked = [word for word in SECRET_WORDS if word in again.text and word not in str(body)]
        assert not leaked, (path, leaked, again.text)
        if path.startswith(f"{V1}/campaigns/"):
            assert_problem(again, 404, "campaign_not_found")
