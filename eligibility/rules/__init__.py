"""The candidacy rules (durable_rules), one ruleset per installed policy version."""

from eligibility.rules.catalog import build_catalog
from eligibility.rules.host import rule_state
from eligibility.rules.rule import Effect, Rule
from eligibility.rules.rulesets import CATALOGS, fire

__all__ = ["CATALOGS", "Effect", "Rule", "build_catalog", "fire", "rule_state"]
