"""No request to the API answers 5xx, and every documented answer matches the OpenAPI schema.

Two runs over drf-spectacular's schema (what /api/schema/ serves), each on both demo hospitals,
with the demo patient's token on `patient/` paths and the hospital admin's token on `staff/`
paths, every request sent through the Django WSGI app (the test database, the demo data of
conftest.py), every answer checked by schemathesis's not_a_server_error and
response_schema_conformance (the body of a status the schema documents must match it):

- the fuzzing run: schemathesis generates requests for every operation, valid and invalid,
  HCM_FUZZ_MAX_EXAMPLES per operation and hospital, derandomised with a fixed seed (a failure
  reproduces); HCM_FUZZ_COVERAGE=1 adds schemathesis's coverage phase (boundary values, missing
  and wrong-typed fields, unexpected methods: several times longer);
- the reading run: every GET operation on the demo data, and every detail of the rows its list
  answers, so the answers that hold real rows in every state are checked too.
"""

import re

import hypothesis
import pytest
import schemathesis
from django.conf import settings

from tests.fuzz.conftest import DEMO_HOSPITALS
from tests.openapi import CHECKS, api_document, api_schema, checked_answer

SEED = 20260412
DETAILS_PER_LIST = 3


def hospital_schema(code: str, *, first: bool):
    """The whole API as one hospital serves it: the `hospital` path parameter is always `code`
    (the one path without it, the staff token, only with the first hospital)."""
    phases = {"coverage": {"enabled": settings.HCM_FUZZ_COVERAGE}}
    generation = {"max-examples": settings.HCM_FUZZ_MAX_EXAMPLES, "deterministic": True, "database": "none"}
    config = {"seed": SEED, "parameters": {"path.hospital": code}, "phases": phases, "generation": generation}
    schema = api_schema(schemathesis.Config.from_dict(config))
    return schema if first else schema.include(path_regex=r"\{hospital\}")


@pytest.mark.fuzz
@schemathesis.pytest.parametrize(**{code: hospital_schema(code, first=i == 0) for i, code in enumerate(DEMO_HOSPITALS)})
# The demo data and the HIS are per operation, not per example: an operation's examples share them.
@hypothesis.settings(
    max_examples=settings.HCM_FUZZ_MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[
        hypothesis.HealthCheck.function_scoped_fixture,
        hypothesis.HealthCheck.too_slow,
        hypothesis.HealthCheck.filter_too_much,
    ],
)
def test_no_server_error_and_every_answer_matches_the_schema(case, demo, same_his, db):
    authorization = demo[case.path_parameters.get("hospital", DEMO_HOSPITALS[0])].authorization(case.path)
    case.call_and_validate(headers={"Authorization": authorization} if authorization else {}, checks=CHECKS)


def _rows(body) -> list[dict]:
    rows = body.get("results", body) if isinstance(body, dict) else body
    return [row for row in rows if isinstance(row, dict) and "id" in row] if isinstance(rows, list) else []


@pytest.mark.fuzz
@pytest.mark.parametrize("code", DEMO_HOSPITALS)
def test_every_read_of_the_demo_data_matches_the_schema(code, demo, same_his, db):
    hospital = demo[code]
    gets = [path for path, item in api_document()["paths"].items() if "get" in item and "{hospital}" in path]
    failures, listed = [], {}

    def read(path: str, **parameters):
        authorization = hospital.authorization(path)
        answer, failure = checked_answer(path, hospital=code, authorization=authorization, path_parameters=parameters)
        failures.extend([failure] if failure else [])
        return answer

    for path in (p for p in gets if set(re.findall(r"{(\w+)}", p)) == {"hospital"}):
        answer = read(path)
        if answer.status_code == 200 and "json" in answer.headers.get("content-type", [""])[0]:
            listed[path] = [row["id"] for row in _rows(answer.json())][:DETAILS_PER_LIST]
    for path in (p for p in gets if set(re.findall(r"{(\w+)}", p)) == {"hospital", "id"}):
        for pk in listed.get(path.split("{id}/")[0], []):
            read(path, id=pk)
    products = listed["/api/v1/{hospital}/public/products/"]
    assert products and listed["/api/v1/{hospital}/patient/orders/"], "the journey left no products or orders"
    for pk in products:
        read("/api/v1/{hospital}/patient/distribution/products/{product}/share/", product=pk)
    assert not failures, "\n\n".join(failures)
