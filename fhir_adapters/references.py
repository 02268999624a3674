"""Resolving FHIR references inside one submission: `urn:uuid:`, `Type/id`, absolute URLs, `#contained`.

Every read resource gets an identity `ResourceType/id` (its id, else the uuid of its `urn:uuid:`
fullUrl), which is the `reference` of its fact; references are resolved against fullUrls first, then
against identities, as a FHIR server resolving a Bundle would.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from eligibility.errors import InvalidResourceError

from .locations import Locator
from .parsing import RawEntry

__all__ = ["IndexedEntry", "ResourceIndex", "Target", "identity_of", "reference_type"]

_ID = r"[A-Za-z0-9\-.]{1,64}"
_RELATIVE = re.compile(rf"([A-Z][A-Za-z]+)/({_ID})(?:/_history/{_ID})?")
_ABSOLUTE_TAIL = re.compile(rf"(?:^|/)([A-Z][A-Za-z]+)/({_ID})(?:/_history/{_ID})?$")
_URN_UUID = "urn:uuid:"


@dataclass(frozen=True, slots=True)
class Target:
    """A resolved reference: the resource, and the container whose `contained` list its '#' refs use."""

    resource: dict[str, Any]
    container: dict[str, Any]
    key: str  # "Type/id" for an entry; "<container key>#id" for a contained resource
    locator: Locator  # where the resource itself is
    container_locator: Locator  # where the container is (contained '#id' locations hang off it)

    @property
    def resource_type(self) -> str:
        return str(self.resource.get("resourceType", ""))


@dataclass(frozen=True, slots=True)
class IndexedEntry:
    raw: RawEntry
    resource: dict[str, Any]
    identity: str | None  # "Type/id"; None only for unread resources that carry no id
    read: bool = True  # validated and projected; False: checked for structure only (unread.py)

    def target(self) -> Target:
        locator = self.raw.locator
        return Target(self.resource, self.resource, self.identity or "", locator, locator)


def identity_of(resource: dict[str, Any], full_url: str | None) -> str | None:
    """`Type/id` from resource.id, else from the uuid of a `urn:uuid:` fullUrl or an absolute fullUrl."""
    resource_type = resource["resourceType"]
    resource_id = resource.get("id")
    if isinstance(resource_id, str) and resource_id:
        return f"{resource_type}/{resource_id}"
    if full_url is None:
        return None
    if full_url.startswith(_URN_UUID):
        return f"{resource_type}/{full_url[len(_URN_UUID) :]}"
    match = _ABSOLUTE_TAIL.search(full_url)
    if match and match.group(1) == resource_type:
        return f"{resource_type}/{match.group(2)}"
    return None


def reference_type(reference: str) -> str | None:
    """The resource type a literal reference names ("Condition/1", ".../Condition/1"); None for urn/#."""
    if reference.startswith(("#", "urn:")):
        return None
    match = _RELATIVE.fullmatch(reference) or _ABSOLUTE_TAIL.search(reference)
    return match.group(1) if match else None


class ResourceIndex:
    """The submission's resources by fullUrl and by `Type/id`."""

    def __init__(self, entries: Iterable[IndexedEntry], duplicates: list[str] | None = None) -> None:
        # None marks an ambiguous key (two unread resources share it): it resolves to nothing, and the
        # location of the second is added to `duplicates`.
        self._duplicates = duplicates
        self._by_url: dict[str, IndexedEntry] = {}
        self._by_identity: dict[str, IndexedEntry | None] = {}
        for item in entries:
            self._add(item)

    def _add(self, item: IndexedEntry) -> None:
        full_url = item.raw.full_url
        if full_url is not None:
            if full_url in self._by_url:
                # bdl-7: fullUrl must be unique in a Bundle; which one a reference means would be a guess.
                raise InvalidResourceError(
                    f"fullUrl {full_url!r} is used twice (also at {self._by_url[full_url].raw.locator.base})",
                    location=item.raw.locator.base.removesuffix(".resource") + ".fullUrl",
                )
            self._by_url[full_url] = item
        if item.identity is None:
            return
        if item.identity not in self._by_identity:
            self._by_identity[item.identity] = item
            return
        previous = self._by_identity[item.identity]
        if item.read or (previous is not None and previous.read):
            where = previous.raw.locator.base if previous is not None else "another entry"
            raise InvalidResourceError(
                f"{item.identity} appears twice (also at {where}); evidence would be ambiguous",
                location=item.raw.locator.at("id"),
            )
        self._by_identity[item.identity] = None
        if self._duplicates is not None:
            self._duplicates.append(item.raw.locator.at("id"))

    def resolve(self, reference: str, container: dict[str, Any] | None, locator: Locator) -> Target | None:
        """The resource a literal reference points to, or None when the submission does not hold it.

        `container` is the top-level resource the reference is written in (for '#id'), and `locator`
        where that container sits (to locate a contained resource in errors).
        """
        if reference.startswith("#"):
            return _contained(reference[1:], container, locator)
        item = self._by_url.get(reference)
        if item is not None:
            return item.target()
        if reference.startswith("urn:"):
            return None
        match = _RELATIVE.fullmatch(reference)
        if match is None:
            return None  # absolute URLs resolve only through a matching fullUrl
        found = self._by_identity.get(f"{match.group(1)}/{match.group(2)}")
        return found.target() if found is not None else None


def _contained(local_id: str, container: dict[str, Any] | None, locator: Locator) -> Target | None:
    if container is None or not local_id:
        return None
    for index, resource in enumerate(container.get("contained", ())):
        if isinstance(resource, dict) and resource.get("id") == local_id:
            container_type = container.get("resourceType", "")
            container_key = f"{container_type}/{container.get('id', '')}"
            contained_at = locator.child(f"contained[{index}]")
            return Target(resource, container, f"{container_key}#{local_id}", contained_at, locator)
    return None
