"""Schemathesis against the app's own OpenAPI schema: no 5xx, no response off the schema.

Each operation gets its own Hypothesis run, driven here rather than by schemathesis'
pytest plugin (which does not run on pytest 9 yet); requests go through Starlette's
TestClient, since schemathesis' own `requests` transport trips over the urllib3-future
that caldav installs (NOTES.md).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import ignored_auth, positive_data_acceptance

from api.app import create_app
from graphs import CONFIG, START, build_graph
from helpers import token_for
from model.db import make_engine, make_sessionmaker
from workhub.config import WorkhubConfig

OPERATIONS = sorted(
    f"{method.upper()} {path}"
    for path, methods in create_app(None, WorkhubConfig()).openapi()["paths"].items()  # type: ignore[arg-type]
    for method in methods
)


@pytest.fixture(scope="module")
def api(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
        ) -> tuple[schemathesis.BaseSchema, str, TestClient]:
    """The schema of an app over a small graph, a manager's token, and a client."""
    path = tmp_path_factory.mktemp("schema") / "workhub.db"
    shutil.copy(sqlite_template, path)
    sessions = make_sessionmaker(make_engine(f"sqlite:///{path}"))
    build_graph(sessions)
    token = token_for(sessions, "boss", "manager")
    app = create_app(sessions, CONFIG, clock=lambda: START)
    return schemathesis.openapi.from_asgi("/openapi.json", app), token, TestClient(app)


@pytest.mark.parametrize("label", OPERATIONS)
def test_operation_conforms_to_the_schema(
        api: tuple[schemathesis.BaseSchema, str, TestClient], label: str) -> None:
    schema, token, client = api
    operation = next(op.ok() for op in schema.get_all_operations()
                     if op.ok().label == label)

    @given(case=operation.as_strategy())
    @settings(max_examples=40, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case: schemathesis.Case) -> None:
        kwargs = case.as_transport_kwargs(headers={"Authorization": f"Bearer {token}"})
        kwargs.pop("base_url", None)
        if not kwargs.get("cookies"):
            kwargs.pop("cookies", None)
        response = client.request(**kwargs)
        # Every case carries a valid token on purpose; 401s are covered in test_api_access.
        # A made-up cursor is a schema-valid string the API must still refuse (400).
        excluded = [ignored_auth]
        if (case.query or {}).get("cursor") is not None:
            excluded.append(positive_data_acceptance)
        case.validate_response(response, excluded_checks=excluded)

    check()
