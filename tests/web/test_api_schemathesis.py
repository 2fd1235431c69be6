"""Property-based API tests generated from the OpenAPI schema (schemathesis).

The schema is loaded from the running app (a fixture: the registry lives in ``tmp_path``), so
operations are walked explicitly rather than through schemathesis' pytest plugin.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from .conftest import api_token


def test_api_conforms_to_its_schema(staff_app: Any) -> None:
    with TestClient(staff_app) as c:
        auth = api_token(c, "investigator")  # the broadest clinical role
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", staff_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30  # the staff application's use cases
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=6,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        def check(case: Any) -> None:
            # documented status, well-formed JSON matching the schema, never a server error;
            # a schema-valid body may still break a domain rule (unknown catalogue variable,
            # unit of the wrong dimension): 422 with the field named is the right answer there
            case.call_and_validate(
                headers=auth, excluded_checks=[schemathesis.checks.positive_data_acceptance]
            )

        check()
