"""Schemathesis over the whole published API: no input gets a 5xx, every answer matches the schema.

A bounded, seeded run (derandomized Hypothesis, a few examples per operation and generation
mode) as a superuser and as a grid worker, in the test database's transaction. Each operation's
failures are collected so one run reports all of them. ``UG_FUZZ_EXAMPLES`` raises the number of
examples for a longer run by hand; the suite keeps the default.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup, ServerError
from schemathesis.specs.openapi.checks import response_schema_conformance

from urbangrid.orgs.actions import do_issue_token

MAX_EXAMPLES = int(os.environ.get("UG_FUZZ_EXAMPLES", "6"))
SEED = 20261207


@pytest.fixture
def same_connection():
    """Requests run through the WSGI app inside the test's transaction, as Django's test client
    does: the end of a request must not close the connection that holds that transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _fuzz(token: str) -> tuple[int, list[str], list[str]]:
    """(cases sent, server errors, schema violations) over every operation."""
    from urbangrid.wsgi import application

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    headers = {"Authorization": f"Bearer {token}"}
    sent = Counter()
    server_errors: list[str] = []
    violations: list[str] = []

    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @seed(SEED)
            @settings(
                max_examples=MAX_EXAMPLES,
                derandomize=True,
                database=None,
                deadline=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case):
                sent["cases"] += 1
                response = case.call(headers=headers)
                try:
                    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
                except FailureGroup as group:
                    where = f"{case.operation.label} {response.status_code} {case.as_curl_command(headers=headers)}"
                    for failure in group.exceptions:
                        bucket = server_errors if isinstance(failure, ServerError) else violations
                        bucket.append(f"{where}\n    {failure.title}: {failure.message[:300]}")

            run()
    return sent["cases"], server_errors, violations


@pytest.mark.parametrize("persona", ["admin", "grid_worker"])
def test_no_input_gets_a_server_error_or_an_undocumented_answer(demo, same_connection, persona):
    user = demo.user_named("admin") if persona == "admin" else demo.user("grid_worker")
    _, token = do_issue_token(user, user.person, "schemathesis")

    cases, server_errors, violations = _fuzz(token)

    ops = {e.split(" ", 2)[0] + " " + e.split(" ", 2)[1] for e in server_errors + violations}
    print(
        f"schemathesis as {persona}: {cases} cases, {len(server_errors)} 5xx, "
        f"{len(violations)} schema violations, {len(ops)} operations failing"
    )
    assert cases > 100 * MAX_EXAMPLES
    assert not server_errors and not violations, "\n".join(server_errors + violations)
