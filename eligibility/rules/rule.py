"""A rule and the one effect it records when it fires.

Effects are typed by what they set, so the engine composes a decision from values whose types
say exactly what the decision record accepts (a stage is "trial" or "implant", never any string).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eligibility.decision import ActionKind, LabelStatus, Outcome, Stage, Status

__all__ = ["AddAction", "Effect", "NoEffect", "Rule", "SetLabel", "SetOutcome", "SetStage", "SetStatus"]


@dataclass(frozen=True, slots=True)
class SetStatus:
    criterion: str
    status: Status


@dataclass(frozen=True, slots=True)
class SetStage:
    stage: Stage


@dataclass(frozen=True, slots=True)
class SetLabel:
    label: LabelStatus


@dataclass(frozen=True, slots=True)
class AddAction:
    action: ActionKind


@dataclass(frozen=True, slots=True)
class SetOutcome:
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class NoEffect:
    """A rule that answers "nothing to do" (no hold, no preparation), so every fact is answered."""

    what: str


Effect = SetStatus | SetStage | SetLabel | AddAction | SetOutcome | NoEffect


@dataclass(frozen=True)
class Rule:
    id: str
    phase: int
    condition: Any  # a durable_rules expression
    effect: Effect
