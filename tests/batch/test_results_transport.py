"""What a worker sends back survives pickling unchanged (local processes and Dask both pickle it)."""

from __future__ import annotations

import pickle
from datetime import date

from eligibility.errors import EligibilityError
from eligibility.service import Evaluated, Rejected, evaluate_one
from tests.conftest import EXAMPLES


def test_an_evaluated_decision_round_trips_as_json() -> None:
    result = evaluate_one((EXAMPLES / "crps-left-foot.json").read_bytes(), as_of=date(2026, 11, 20))
    assert isinstance(result, Evaluated)
    data = pickle.dumps(result)
    assert b"pydantic" not in data  # sent as JSON, not as the models' internals
    back = pickle.loads(data)
    assert isinstance(back, Evaluated)
    assert back.decision == result.decision
    assert back.canonical == result.canonical
    assert back.record == result.record == result.decision.model_dump(mode="json")


def test_a_rejection_round_trips() -> None:
    result = evaluate_one(b'{"resourceType": "Bundle", "type": "collection", "entry": [{}]}', as_of=date(2026, 1, 1))
    assert isinstance(result, Rejected)
    back = pickle.loads(pickle.dumps(result))
    assert type(back.error) is type(result.error)
    assert str(back.error) == str(result.error)
    assert isinstance(back.error, EligibilityError) and isinstance(result.error, EligibilityError)
    assert back.error.location == result.error.location
