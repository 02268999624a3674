"""The operation's input: a Bundle (or NDJSON) as sent, or a Parameters resource wrapping one with asOf."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson

from eligibility.errors import InputError, InvalidResourceError

__all__ = ["OperationInput", "parse_day", "unwrap"]


@dataclass(frozen=True, slots=True)
class OperationInput:
    bundle: bytes  # what the adapters read
    as_of: date | None  # from Parameters.asOf
    location_prefix: str  # where the bundle sits in the body, for error locations ("" when it is the body)


def parse_day(value: str, location: str) -> date:
    """A full FHIR date (YYYY-MM-DD): a partial one would leave the evaluation day ambiguous."""
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise InputError(f"{value!r} is not a full date (YYYY-MM-DD)", location=location)


def unwrap(body: bytes) -> OperationInput:
    if b'"Parameters"' not in body and b"\\u" not in body:
        # Certainly not a Parameters resource (its resourceType would be spelt here, or escaped): the
        # body goes to the worker as it came, not parsed here first (1.3 ms of a 190 KB chart).
        return OperationInput(bundle=body, as_of=None, location_prefix="")
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        document = None  # NDJSON or broken JSON: the adapters say exactly where
    if not isinstance(document, dict) or document.get("resourceType") != "Parameters":
        return OperationInput(bundle=body, as_of=None, location_prefix="")
    return _parameters(document)


def _parameters(document: dict[str, Any]) -> OperationInput:
    parameters = document.get("parameter")
    if not isinstance(parameters, list):
        raise InvalidResourceError("Parameters needs a 'parameter' list", location="Parameters.parameter")
    bundle: bytes | None = None
    prefix = ""
    as_of: date | None = None
    for index, parameter in enumerate(parameters):
        where = f"Parameters.parameter[{index}]"
        name = parameter.get("name") if isinstance(parameter, dict) else None
        if name == "bundle" and bundle is None:
            resource = parameter.get("resource")
            if not isinstance(resource, dict):
                raise InvalidResourceError("parameter 'bundle' needs a 'resource'", location=f"{where}.resource")
            bundle, prefix = orjson.dumps(resource), f"{where}.resource"
        elif name == "asOf" and as_of is None:
            value = parameter.get("valueDate")
            if not isinstance(value, str):
                raise InvalidResourceError("parameter 'asOf' needs a 'valueDate'", location=f"{where}.valueDate")
            as_of = parse_day(value, f"{where}.valueDate")
        else:
            problem = "is repeated" if name in {"bundle", "asOf"} else "is not an input of $drg-candidacy"
            raise InvalidResourceError(f"parameter {name!r} {problem} (inputs: bundle, asOf)", location=f"{where}.name")
    if bundle is None:
        raise InvalidResourceError("Parameters has no 'bundle' parameter", location="Parameters.parameter")
    return OperationInput(bundle=bundle, as_of=as_of, location_prefix=prefix)
