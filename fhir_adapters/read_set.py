"""What a policy reads of a patient's record, so a bulk run can leave the rest unread.

Bulk exports carry most of their bytes in resources no rule looks at: Claims, ExplanationOfBenefits,
notes, and Observations and Encounters with codes no value set names (vitals, labs, routine visits).
A `ReadSet` says, per line, whether the engine could read it:

- a resource type outside `fhir_adapters.models.READ_TYPES` is never read (the single-patient path
  neither validates nor projects it either);
- an Observation or Encounter is read only when some `code` in it is a code of a value set the
  derivations consult for that type (eligibility/derive/reads.py). Codes are compared as strings,
  whatever their system: a superset of what the value sets match, so nothing read is left out.

Leaving a resource out never changes a decision; it does change the canonical input, so a decision made
from a reduced record carries the SHA-256 of what was read, and the audit store keeps exactly that.
`ReadSet.everything()` reads every line (the batch command's --read-all).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from eligibility.derive.reads import CODED_READS
from eligibility.errors import PolicyError
from eligibility.policy import Policy
from fhir_adapters.models import READ_TYPES

__all__ = ["ReadSet"]

# A `"code": "<string>"` member. A line with a backslash is matched once re-serialised by orjson, which
# writes keys and codes without escapes, since JSON escapes could spell them so that this does not match.
_CODE_MEMBER = re.compile(rb'"code"\s*:\s*"([^"\\]*)"')


@dataclass(frozen=True, slots=True)
class ReadSet:
    key: str  # names the read set in a scan's manifest: a scan made with another one is not reused
    types: frozenset[str] | None  # None: every resource type
    codes: Mapping[str, frozenset[bytes]]  # resource type -> codes that make a resource of it read

    @classmethod
    def everything(cls) -> ReadSet:
        return cls("all", None, {})

    @classmethod
    def for_policy(cls, policy: Policy) -> ReadSet:
        codes: dict[str, frozenset[bytes]] = {}
        for resource_type, names in CODED_READS.items():
            found: set[bytes] = set()
            for name in names:
                valueset = policy.valuesets.get(name)
                if not isinstance(valueset, dict):
                    raise PolicyError(f"policy {policy.key} has no value set {name!r}, which {resource_type} reads use")
                if "icd10" in valueset:
                    # ICD-10 matches by normalised prefix, which a string comparison cannot mirror.
                    raise PolicyError(f"value set {name!r} has ICD-10 codes; {resource_type} lines cannot be filtered")
                found.update(leaf.encode("utf-8") for leaf in _strings(valueset))
            codes[resource_type] = frozenset(found)
        return cls(f"{policy.key} {policy.sha256[:16]}", READ_TYPES, codes)

    @property
    def reads_everything(self) -> bool:
        return self.types is None

    def reads_type(self, resource_type: str) -> bool:
        return self.types is None or resource_type in self.types

    def reads(self, resource_type: str, resource: dict[str, Any], line: bytes) -> bool:
        """Whether the engine could read this resource (`line` is its JSON, `resource` that parsed)."""
        if not self.reads_type(resource_type):
            return False
        wanted = self.codes.get(resource_type)
        if wanted is None:
            return True
        if b"\\" in line:
            line = orjson.dumps(resource)
        return not wanted.isdisjoint(_CODE_MEMBER.findall(line))

    def reads_resource(self, resource: dict[str, Any]) -> bool:
        """`reads` for a resource not read from a line (a Bundle entry, a test fixture)."""
        return self.reads(str(resource.get("resourceType")), resource, orjson.dumps(resource))

    def left_out_unparsed(self, resource_type: str, line: bytes) -> bool:
        """True when `line` is certainly, without parsing it, a `resource_type` resource that `reads` leaves
        out: it opens with that resourceType, names no other (no contained resource, no repeated key), has no
        escapes, is closed, and holds no code the type is read by. Any line less certain is parsed and
        judged by `reads`, so a malformed one is still reported. `resource_type` is the file's named type."""
        wanted = self.codes.get(resource_type)
        if wanted is None or not line.startswith(b'{"resourceType":"%s"' % resource_type.encode()):
            return False
        if b"\\" in line or not line.endswith(b"}") or line.count(b'"resourceType"') != 1:
            return False
        return wanted.isdisjoint(_CODE_MEMBER.findall(line))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)

