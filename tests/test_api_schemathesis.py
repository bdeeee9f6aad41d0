"""Schemathesis against the live OpenAPI document: every operation, with a token, never
answers 5xx and always answers what the document says (documented errors included)."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from . import factories
from .api_helpers import bearer, make_token

SETTINGS = settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def test_api_matches_its_document(app):
    org = factories.make_org(slug="fuzz")
    event = factories.make_event(org, capacity=2, location_visibility="confirmed")
    factories.make_signup(event)
    factories.make_subscription(organizations=(org,))
    headers = bearer(make_token(org))
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)

    def pin(case):
        """Aim at the organization and action that exist, so the token's operations run."""
        params = case.path_parameters or {}
        if "slug" in params:
            params["slug"] = "fuzz"
        if "event_id" in params:
            params["event_id"] = event.id
        return case

    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 12
    for operation in operations:

        @given(case=operation.as_strategy().map(pin))
        @SETTINGS
        def check(case):
            # Schema-valid is not always acceptable here (an unknown org, a cursor not ours, a
            # start in the past: 400/422 by design), so that one check is left out.
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        check()
