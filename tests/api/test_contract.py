"""Contract test: schemathesis drives every operation in the app's OpenAPI document; no 5xx, ever.

The schema is the app's own (`create_app().openapi()`, built without starting anything); the calls
go to the service running on 127.0.0.1 (uvicorn in a thread). Each operation gets valid and invalid
examples (schemathesis' positive and negative generation). Calls carry an admin's API token, CDS
Hooks calls a freshly signed client JWT for their exact endpoint (a JWT is single-use).

Schemathesis' pytest integration (`@schema.parametrize`) does not run under pytest 9 (it reads
`Function._nodeid`), so each operation's strategy is driven with Hypothesis directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from eligibility.api.users import Role
from eligibility.api.workers import ProcessEvaluator
from eligibility.app import create_app
from tests.api.conftest import Api, make_settings, running_api
from tests.api.helpers import ClientKeys

EXAMPLES_PER_MODE = 25
SCHEMA = schemathesis.openapi.from_dict(create_app().openapi())
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
# Invalid examples need something to be invalid: a path or query parameter, or a body.
RUNS = [
    pytest.param(operation, mode, id=f"{operation.label} {mode.value}")
    for operation in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or operation.path_parameters or operation.query or operation.body
]


@pytest.fixture(scope="module")
def contract_api(
    tmp_path_factory: pytest.TempPathFactory, keys: ClientKeys, issuers_file: Path, evaluator: ProcessEvaluator
) -> Iterator[Api]:
    url = f"sqlite:///{tmp_path_factory.mktemp('contract') / 'api.db'}"
    with running_api(url, keys=keys, settings=make_settings(issuers_file), evaluator=evaluator) as api:
        yield api


def test_every_endpoint_is_described() -> None:
    paths = {operation.path for operation in OPERATIONS}
    assert {
        "/fhir/Patient/$drg-candidacy",
        "/fhir/GuidanceResponse/{decision_id}",
        "/fhir/metadata",
        "/cds-services",
        "/cds-services/drg-candidacy",
        "/cds-services/drg-candidacy/feedback",
    } <= paths


@pytest.mark.parametrize(("operation", "mode"), RUNS)
def test_no_server_error(operation: schemathesis.APIOperation, mode: GenerationMode, contract_api: Api) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES_PER_MODE, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def call(case: schemathesis.Case) -> None:
        if case.path.startswith("/cds-services"):
            headers = contract_api.keys.auth(case.formatted_path, base=contract_api.base)
        else:
            headers = contract_api.bearer(Role.ADMIN)
        response = case.call(base_url=contract_api.base, headers=headers)
        case.validate_response(response, checks=[not_a_server_error])

    call()
