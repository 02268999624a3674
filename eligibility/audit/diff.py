"""A readable structural difference between two JSON documents (recorded vs re-evaluated).

Lists of objects are matched by identity rather than position — criteria by `id`, actions by kind and
medication/lab — so one inserted action shows as one difference, not as every later one shifted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["MISSING", "Difference", "json_diff"]

MISSING = "<absent>"


@dataclass(frozen=True, slots=True)
class Difference:
    path: str
    recorded: Any
    now: Any


def _item_key(item: Any, index: int) -> str:
    if isinstance(item, dict):
        if "id" in item:
            return str(item["id"])
        if "kind" in item:
            qualifier = item.get("medication") or item.get("lab") or ""
            return f"{item['kind']}:{qualifier}" if qualifier else str(item["kind"])
    return str(index)


def _keyed(items: list[Any]) -> dict[str, Any] | None:
    keyed: dict[str, Any] = {}
    for index, item in enumerate(items):
        key = _item_key(item, index)
        if key in keyed:
            return None  # ambiguous identities: fall back to positions
        keyed[key] = item
    return keyed


def json_diff(recorded: Any, now: Any, path: str = "") -> list[Difference]:
    if isinstance(recorded, dict) and isinstance(now, dict):
        differences: list[Difference] = []
        for key in sorted(set(recorded) | set(now)):
            child = f"{path}.{key}" if path else str(key)
            differences += json_diff(recorded.get(key, MISSING), now.get(key, MISSING), child)
        return differences
    if isinstance(recorded, list) and isinstance(now, list):
        before, after = _keyed(recorded), _keyed(now)
        if before is None or after is None:
            before = {str(i): item for i, item in enumerate(recorded)}
            after = {str(i): item for i, item in enumerate(now)}
        differences = []
        for key in list(before) + [k for k in after if k not in before]:
            differences += json_diff(before.get(key, MISSING), after.get(key, MISSING), f"{path}[{key}]")
        return differences
    return [] if recorded == now else [Difference(path, recorded, now)]
