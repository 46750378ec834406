"""Schemathesis over the served OpenAPI document: requests generated from it, valid and not,
to every operation of `tambour serve`, as the operator and as an advertiser's key. No answer
may be a 5xx, nor break the document (status, content type, body schema, headers).

Bounded: `EXAMPLES` cases a mode, an operation and a key (derandomized: the same cases each
run), a few seconds a database."""

from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration.api_server import ApiServer, new_key
from tests.integration.cli import Cli

EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


def test_no_generated_request_breaks_the_document(db_url: str, tmp_path: Path) -> None:
    Cli(db_url).advertiser()
    tokens = {
        "operator": new_key(db_url, "--operator"),
        "advertiser": new_key(
            db_url, "--advertiser", "maison-lumiere", "--scopes", "read,write,send"
        ),
    }
    with ApiServer(db_url, tmp_path) as server:
        schema = schemathesis.openapi.from_url(server.url + "/api/v1/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert {op.label for op in operations} == {
            "GET /api/v1/me",
            "GET /api/v1/data-requests",
            "POST /api/v1/data-requests",
            "GET /api/v1/data-requests/{request_id}",
            "POST /api/v1/data-requests/{request_id}/extend",
            "POST /api/v1/data-requests/{request_id}/refuse",
            "POST /api/v1/data-requests/{request_id}/answer",
            "POST /api/v1/complaints",
            "POST /api/v1/complaints/platform",
            "POST /api/v1/complaints/files",
            "GET /api/v1/complaints",
            "GET /api/v1/complaints/rates",
            "POST /api/v1/campaigns/{campaign_id}/resume",
            "GET /api/v1/forms",
            "POST /api/v1/forms",
            "GET /api/v1/forms/{form}",
            "PATCH /api/v1/forms/{form}",
            "POST /api/v1/forms/{form}/versions",
            "GET /api/v1/form-wordings/{wording_hash}",
            "GET /api/v1/advertisers",
            "POST /api/v1/advertisers",
            "GET /api/v1/advertisers/{slug}",
            "PATCH /api/v1/advertisers/{slug}",
            "POST /api/v1/optouts",
            "GET /api/v1/optouts/{number}",
            "POST /api/v1/contacts",
            "GET /api/v1/contacts",
            "GET /api/v1/contacts/{contact_id}",
            "POST /api/v1/contacts/imports",
            "POST /api/v1/contacts/exports",
            "GET /api/v1/jobs/{job_id}/file",
            "GET /api/v1/replies",
            "POST /api/v1/replies/{reply_id}/read",
            "POST /api/v1/replies/{reply_id}/opt-out",
            "POST /api/v1/campaigns",
            "GET /api/v1/campaigns",
            "GET /api/v1/campaigns/{campaign_id}",
            "PATCH /api/v1/campaigns/{campaign_id}",
            "DELETE /api/v1/campaigns/{campaign_id}",
            "POST /api/v1/campaigns/{campaign_id}/plan",
            "GET /api/v1/campaigns/{campaign_id}/report",
            "GET /api/v1/campaigns/{campaign_id}/clicks",
            "GET /api/v1/campaigns/{campaign_id}/rows",
            "POST /api/v1/campaigns/{campaign_id}/launch",
            "GET /api/v1/campaigns/{campaign_id}/ab-test",
            "POST /api/v1/campaigns/{campaign_id}/ab-test/winner",
            "POST /api/v1/campaigns/{campaign_id}/cancel",
            "POST /api/v1/campaigns/{campaign_id}/exports",
            "POST /api/v1/messages",
            "GET /api/v1/messages/{message_id}",
            "GET /api/v1/jobs",
            "GET /api/v1/jobs/{job_id}",
            "POST /api/v1/jobs/{job_id}/cancel",
            "GET /api/v1/webhooks/endpoints",
            "POST /api/v1/webhooks/endpoints",
            "GET /api/v1/webhooks/endpoints/{endpoint_id}",
            "PATCH /api/v1/webhooks/endpoints/{endpoint_id}",
            "POST /api/v1/webhooks/endpoints/{endpoint_id}/rotate-secret",
            "GET /api/v1/webhooks/endpoints/{endpoint_id}/deliveries",
            "GET /api/v1/webhooks/deliveries/{delivery_id}",
            "POST /api/v1/webhooks/deliveries/{delivery_id}/replay",
            "GET /api/v1/processing-record",
            "GET /api/v1/processing-record/processor",
            "POST /api/v1/retention/runs",
        }
        calls = 0
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

                @given(case=operation.as_strategy(mode), who=st.sampled_from(sorted(tokens)))
                @settings(
                    max_examples=EXAMPLES,
                    deadline=None,
                    derandomize=True,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                )
                def run(case: Case, who: str) -> None:
                    nonlocal calls
                    calls += 1
                    case.call_and_validate(
                        base_url=server.url,
                        headers={"Authorization": f"Bearer {tokens[who]}"},
                        checks=CHECKS,
                    )

                run()
    assert calls >= len(operations) * 2 * 5
