"""A bounded schemathesis run over the whole OpenAPI schema: generated requests (valid and
invalid) never get a server error, and documented responses match their schemas."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from splat_server.app import create_app
from splat_server.settings import ServerSettings
from tests.server.conftest import TOKEN

EXAMPLES = 12  # per operation: bounded, and derandomized so a run is reproducible
CHECKS = [not_a_server_error, response_schema_conformance]


def test_no_generated_request_gets_a_server_error(home):
    app = create_app(ServerSettings(home=home, token=TOKEN))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def check(case):
            response = case.call(headers={"Authorization": f"Bearer {TOKEN}"})
            case.validate_response(response, checks=CHECKS)

        check()
