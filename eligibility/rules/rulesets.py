"""One durable_rules ruleset per installed policy version, defined at import.

Defining at import (not per request) means spawned worker processes get the same rulesets by
importing this module, and a name is registered once per process, as durable_rules requires.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from durable.lang import m, ruleset, when_all

from eligibility.policy import Policy, installed_policies
from eligibility.rules.catalog import build_catalog
from eligibility.rules.host import FIRED, assert_batch
from eligibility.rules.rule import Rule

__all__ = ["CATALOGS", "fire"]


def _recorder(rule_id: str) -> Callable[[Any], None]:
    # Exactly one parameter: durable_rules treats a two-parameter action as async.
    def action(c: Any) -> None:
        FIRED[c.m.sid].append((rule_id, int(c.m.fid)))

    return action


def _catch_all(c: Any) -> None:
    """Every fact matches something, so an unforeseen value never aborts a batch; gaps are caught
    by the engine's completeness check instead."""


def _define(policy: Policy) -> tuple[Rule, ...]:
    catalog = build_catalog(policy)
    with ruleset(policy.ruleset_name):
        for rule in catalog:
            when_all(rule.condition)(_recorder(rule.id))
        when_all(+m.t)(_catch_all)
    return catalog


CATALOGS: dict[str, dict[str, Rule]] = {
    p.key: {rule.id: rule for rule in _define(p)} for p in installed_policies()
}


def fire(policy: Policy, sid: str, facts: Sequence[dict[str, Any]]) -> list[tuple[Rule, int]]:
    """Assert one phase's facts; return (rule, fact index) for every rule that fired, in order."""
    if policy.key not in CATALOGS:
        raise KeyError(policy.key)
    start = len(FIRED[sid])
    assert_batch(policy.ruleset_name, sid, facts)
    catalog = CATALOGS[policy.key]
    return [(catalog[rule_id], fid) for rule_id, fid in FIRED[sid][start:]]
