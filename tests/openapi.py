"""The API's OpenAPI schema as schemathesis sees it, for checking real answers against it.

`conforming_answer(...)` sends one request through the Django WSGI app (the test database)
and fails unless the answer is not a 5xx and, for a documented status, matches the schema.
"""

import functools

import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance

CHECKS = [not_a_server_error, response_schema_conformance]


@functools.cache
def api_document() -> dict:
    """What /api/schema/ serves (drf-spectacular's generator, post-processing hooks included)."""
    return SchemaGenerator().get_schema(request=None, public=True)


def _test_wsgi_app():
    """Django's WSGI app as Django's test client runs it: the end of a request does not close the
    database connection, which holds the test's transaction (PostgreSQL would lose it)."""
    app = get_wsgi_application()

    def serve(environ, start_response):
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            answer = app(environ, start_response)
            try:
                body = b"".join(answer)
            finally:
                answer.close()  # sends request_finished
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
        return [body]

    return serve


def api_schema(config: schemathesis.Config | None = None):
    """The schema loaded by schemathesis, its requests sent through the WSGI app."""
    schema = schemathesis.openapi.from_dict(api_document(), config=config)
    schema.app = _test_wsgi_app()
    return schema


@functools.cache
def _plain_schema():
    return api_schema()


def checked_answer(
    path: str,
    *,
    hospital: str,
    method: str = "GET",
    authorization: str | None = None,
    path_parameters: dict | None = None,
    query: dict | None = None,
    body=None,
):
    """Call `method path` (the template, e.g. /api/v1/{hospital}/patient/orders/{id}/): the answer,
    and what is wrong with it (None when it is not a 5xx and matches the schema)."""
    operation = _plain_schema()[path][method]
    extra = {} if body is None else {"body": body, "media_type": "application/json"}
    case = operation.Case(path_parameters={"hospital": hospital, **(path_parameters or {})}, query=query, **extra)
    headers = {"Authorization": authorization} if authorization else {}
    answer = case.call(headers=headers)
    try:
        case.validate_response(answer, checks=CHECKS, headers=headers)
    except FailureGroup as failures:
        return answer, f"{method} {path} {path_parameters or {}}: {failures}"
    return answer, None


def conforming_answer(path: str, **request):
    """The answer to the request (see checked_answer), which must not be a 5xx and must match the schema."""
    answer, failure = checked_answer(path, **request)
    assert failure is None, failure
    return answer
