"""The DRG candidacy engine: a patient's FHIR record in, an explained decision out.

    from datetime import date
    from pathlib import Path

    from eligibility import decide

    decision = decide(
        Path("examples/crps-left-foot.json").read_bytes(),
        as_of=date(2026, 11, 20),
        decision_id="example-1",
        evaluated_at="2026-11-20T09:00:00Z",
    )
    decision.outcome                       # "ELIGIBLE_WITH_CONDITIONS"
    [c.status for c in decision.criteria]  # one status per criterion of the policy

`decide` reads no clock and writes nothing: the audit trail, the API and the CLI are the application
around it (eligibility.service records a decision; docs/engine.md draws the layers and holds the
glossary). The policy defaults to the installed default version; `load_policy("drg-clinic@1.0.0")`
picks another. Bad input raises an `InputError` (a subclass per kind), a broken policy a
`PolicyError`, an evaluation that could not complete an `EngineError`: never a silent decision.

The core is the modules this package exports from (facts, derive, rules, engine, decision, explain,
policy); the application packages beside them (audit, api, web, batch, service, commands) import
the core and never the other way round (the import-linter contracts in pyproject.toml).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eligibility.errors import (
    AuditError,
    DanglingReferenceError,
    EligibilityError,
    EngineError,
    InputError,
    InvalidResourceError,
    NotFHIRError,
    NotJSONError,
    PatientCountError,
    PolicyError,
    WrongResourceTypeError,
)

if TYPE_CHECKING:
    from eligibility.decision import Decision
    from eligibility.engine import evaluate
    from eligibility.from_fhir import decide
    from eligibility.policy import Policy, installed_policies, load_policy

__all__ = [
    "AuditError",
    "DanglingReferenceError",
    "Decision",
    "EligibilityError",
    "EngineError",
    "InputError",
    "InvalidResourceError",
    "NotFHIRError",
    "NotJSONError",
    "PatientCountError",
    "Policy",
    "PolicyError",
    "WrongResourceTypeError",
    "decide",
    "evaluate",
    "installed_policies",
    "load_policy",
]

# Where each lazily exported name lives. Lazy because `decide` reads FHIR through fhir_adapters, which
# itself imports the core's facts: importing it here eagerly would make every `import eligibility.facts`
# load the FHIR models (≈ 0.3 s, and a circular import while fhir_adapters initialises).
_LAZY = {
    "Decision": "eligibility.decision",
    "evaluate": "eligibility.engine",
    "decide": "eligibility.from_fhir",
    "Policy": "eligibility.policy",
    "installed_policies": "eligibility.policy",
    "load_policy": "eligibility.policy",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'eligibility' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(module), name)
