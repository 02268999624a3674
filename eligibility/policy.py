"""Versioned, hashed policy artifacts (thresholds, value sets, hold table).

A policy lives in `eligibility/policies/<id>/<version>/`: a `manifest.json` naming each data file
with its SHA-256, and the files themselves. The policy hash is the SHA-256 of the canonical
manifest, so it changes whenever any file or the manifest changes. Loading verifies every file
against the manifest and refuses a policy that does not match: a decision must never be made
under thresholds nobody can name.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from eligibility.codes import CodeMatcher
from eligibility.errors import PolicyError
from eligibility.medications import MedicationIdentifier
from eligibility.settings import get_settings

__all__ = [
    "POLICY_ROOT",
    "Policy",
    "installed_policies",
    "load_policy",
    "policy_roots",
    "seal_policy",
]

POLICY_ROOT = Path(__file__).resolve().parent / "policies"
DATA_FILES = ("thresholds.json", "valuesets.json", "holds.json")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Policy:
    """One sealed policy version: thresholds, value sets, the hold table and the medication identifier."""

    id: str
    version: str
    sha256: str
    title: str
    path: Path
    thresholds: dict[str, Any]
    valuesets: dict[str, Any]
    holds: dict[str, Any]
    matcher: CodeMatcher
    identifier: MedicationIdentifier

    @property
    def key(self) -> str:
        return f"{self.id}@{self.version}"

    @property
    def ruleset_name(self) -> str:
        # durable_rules names must be unique per process and cannot be removed: one per version.
        return f"{self.id}@{self.version}"

    def threshold(self, name: str) -> Any:
        try:
            return self.thresholds[name]
        except KeyError as exc:
            raise PolicyError(f"policy {self.key} has no threshold {name!r}") from exc


def seal_policy(directory: Path) -> dict[str, Any]:
    """Rewrite `manifest.json` with the current SHA-256 of each data file; return the manifest.

    Used after a clinician edits a data file, so the change is visible as a new hash.
    """
    manifest_path = directory / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"] = {name: _sha256((directory / name).read_bytes()) for name in DATA_FILES}
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return dict(manifest)


def _load_directory(directory: Path) -> Policy:
    manifest_path = directory / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as exc:
        raise PolicyError(f"cannot read policy manifest {manifest_path}: {exc}") from exc
    files: dict[str, str] = manifest.get("files", {})
    loaded: dict[str, Any] = {}
    for name in DATA_FILES:
        expected = files.get(name)
        path = directory / name
        if expected is None:
            raise PolicyError(f"policy manifest {manifest_path} does not list {name}")
        raw = path.read_bytes()
        actual = _sha256(raw)
        if actual != expected:
            raise PolicyError(
                f"policy file {path} does not match its manifest (sha256 {actual[:12]}…, "
                f"manifest says {expected[:12]}…); run `drg-eligibility policy seal {directory}`"
            )
        loaded[name] = json.loads(raw)
    valuesets = loaded["valuesets.json"]
    matcher = CodeMatcher(valuesets)
    return Policy(
        id=manifest["id"],
        version=manifest["version"],
        sha256=_sha256(_canonical(manifest)),
        title=manifest.get("title", ""),
        path=directory,
        thresholds=loaded["thresholds.json"],
        valuesets=valuesets,
        holds=loaded["holds.json"],
        matcher=matcher,
        identifier=MedicationIdentifier(valuesets, matcher),
    )


def policy_roots() -> list[Path]:
    """The package's own policies, then the site's folders (settings `policy_dirs`)."""
    extra = get_settings().policy_dirs
    return [POLICY_ROOT, *(Path(p) for p in (extra.split(os.pathsep) if extra else ()) if p)]


@cache
def installed_policies() -> tuple[Policy, ...]:
    """Every policy version shipped with the product or installed by the site, sorted by id then version."""
    found: dict[str, Policy] = {}
    for root in policy_roots():
        for manifest in sorted(root.glob("*/*/manifest.json")):
            policy = _load_directory(manifest.parent)
            if policy.key in found and found[policy.key].sha256 != policy.sha256:
                raise PolicyError(
                    f"two different policies named {policy.key}: {found[policy.key].path} and {policy.path}"
                )
            found.setdefault(policy.key, policy)
    return tuple(sorted(found.values(), key=lambda p: (p.id, _version_key(p.version))))


def _version_key(version: str) -> tuple[tuple[int, str], ...]:
    """"1.1.0" < "1.1.0-site1" < "1.2.0": numbers compare as numbers, a suffix after the number."""
    key = []
    for part in version.split("."):
        digits = "".join(itertools.takewhile(str.isdigit, part))
        key.append((int(digits) if digits else 0, part[len(digits):]))
    return tuple(key)


def load_policy(ref: str | None = None) -> Policy:
    """Find an installed policy by "id@version", "id" (newest version) or "version" alone.

    None means the configured default (settings.default_policy).
    """
    wanted = ref or get_settings().default_policy
    policies = installed_policies()
    if "@" in wanted:
        pid, version = wanted.split("@", 1)
        matches = [p for p in policies if p.id == pid and p.version == version]
    else:
        matches = [p for p in policies if p.id == wanted] or [p for p in policies if p.version == wanted]
    if not matches:
        known = ", ".join(p.key for p in policies)
        raise PolicyError(f"no installed policy {wanted!r} (installed: {known})")
    return matches[-1]
