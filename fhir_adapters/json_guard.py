"""What every parsed submission must satisfy before a model or a rule sees it.

Three classes of input used to end in a 500 or a silently different decision (issue 12):

- depth: an extension nested 300 deep exhausted the interpreter's stack inside FHIR validation
  (RecursionError). A document nested more than `MAX_DEPTH` levels is refused (real records nest
  about 12: Bundle.entry.resource.extension.extension.valueCodeableConcept…).
- duplicate keys: JSON parsers keep the last of two equal keys, so two `birthDate`s or two
  `resourceType`s changed the decision without anyone seeing both. Every key of the text is counted
  (a closing quote followed by a colon is a key: a quote inside a string is always escaped) and
  compared with the keys the parser kept; a difference is refused, naming the key.
- dates at the edge of the calendar: `0001-01-01` and `9999-12-31` overflowed the date arithmetic
  of the rules (OverflowError, "year 0 is out of range"). Dates are recognised by the FHIR element
  naming convention (`…Date`, `…DateTime`, `…Instant`, and `start`, `end`, `issued`, `authoredOn`).
  Only what is read does date arithmetic, so the pipeline refuses such a date in a resource the
  policy reads and reports it as a warning in one it does not (`edge_date`, fhir_adapters/reading.py).

How it stays cheap (issue 14: the old walk over every value was 2.4 ms of a 3.2 ms envelope on a
200-entry chart): the parsed document is serialised again by orjson inside `_WRAPPERS` lists.
orjson refuses more than `_ORJSON_LEVELS` levels, so the document fits iff it nests at most
`MAX_DEPTH` levels; the text it gives holds exactly the keys the parser kept, counted as the input's
are; and a year outside `MIN_YEAR`..`MAX_YEAR` after a date key is one pattern search of it. All
three run in C: 0.5 ms on that chart. Only when one of them finds something (or orjson cannot
serialise the document) does the exact walk run, to locate it.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from eligibility.errors import InvalidResourceError, NotJSONError

__all__ = ["MAX_DEPTH", "MAX_YEAR", "MIN_YEAR", "check_document", "edge_date"]

MAX_DEPTH = 64
MIN_YEAR = 1800
MAX_YEAR = 2200
_DATE_KEYS = frozenset({"start", "end", "issued", "authoredOn"})
_DATE_SUFFIXES = ("Date", "DateTime", "Instant")
_YEAR = re.compile(r"(\d{4})(?:-|T|$)")
# In orjson's output (no white space, key characters literal): a string value starting with a year
# that is not 1800-2200. Codes match too ("8867-4"); `_may_hold_edge_date` keeps those after a date key.
_EDGE_YEAR = re.compile(rb'":"(?!1[89]\d\d|2[01]\d\d|2200)\d{4}')
_DATE_KEY_BYTES = tuple(key.encode() for key in _DATE_KEYS)
_DATE_SUFFIX_BYTES = tuple(suffix.encode() for suffix in _DATE_SUFFIXES)
_KEY_END = re.compile(rb'"[ \t\r\n]*:')
_SPACED_KEY_END = re.compile(rb'"[ \t\r\n]+:')
_ESCAPED_KEY_END = re.compile(rb'(\\+)"[ \t\r\n]*:')


def _nested(levels: int) -> Any:
    node: Any = []
    for _ in range(levels - 1):
        node = [node]
    return node


def _orjson_levels() -> int:
    """How many levels of containers orjson serialises (254 in orjson 3.x), found once at import."""
    low, high = 1, 4096  # `low` serialises; `high` is past any limit orjson has had
    while high - low > 1:
        middle = (low + high) // 2
        try:
            orjson.dumps(_nested(middle))
            low = middle
        except orjson.JSONEncodeError:
            high = middle
    return low


_ORJSON_LEVELS = _orjson_levels()
_WRAPPERS = _ORJSON_LEVELS - MAX_DEPTH  # a document inside this many lists fits iff it nests <= MAX_DEPTH


def _serialised(document: Any) -> bytes | None:
    """The document as orjson writes it, or None when it nests too deep (or orjson cannot write it)."""
    if _WRAPPERS < 1:  # an orjson without a depth limit below ours: no shortcut
        return None
    wrapped = document
    for _ in range(_WRAPPERS):
        wrapped = [wrapped]
    try:
        text = orjson.dumps(wrapped)
    except orjson.JSONEncodeError:
        return None
    return text[_WRAPPERS:-_WRAPPERS]


def _path(parts: tuple[str | int, ...], root: str) -> str:
    text = root
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _relative(parts: tuple[str | int, ...]) -> str:
    """'extension[0].valueDateTime': a path inside a resource, for `Locator.at`."""
    return _path(parts, "").removeprefix(".")


def _walk(document: Any, root: str) -> int:
    """Depth checked exactly; returns how many object keys the parsed document holds (the slow path)."""
    keys = 0
    stack: list[tuple[Any, int]] = [(document, 0)]
    push, pop = stack.append, stack.pop
    while stack:
        node, depth = pop()
        if depth >= MAX_DEPTH:
            raise InvalidResourceError(
                f"the document is nested more than {MAX_DEPTH} levels deep; records nest about 12",
                location=_path(_deep_path(document), root),
            )
        below = depth + 1
        values = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        if isinstance(node, dict):
            keys += len(node)
        for value in values:
            if isinstance(value, dict | list):
                push((value, below))
    return keys


def _children(node: Any) -> list[tuple[str | int, Any]]:
    items = node.items() if isinstance(node, dict) else enumerate(node)
    return [(part, value) for part, value in items if isinstance(value, dict | list)]


def _deep_path(document: Any) -> tuple[str | int, ...]:
    """The path to the first node MAX_DEPTH levels down (the walk found one)."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(document, ())]
    while stack:
        node, parts = stack.pop()
        if len(parts) >= MAX_DEPTH:
            return parts[:MAX_DEPTH]
        stack.extend((value, (*parts, part)) for part, value in reversed(_children(node)))
    return ()


def _is_date_key(key: str) -> bool:
    return key in _DATE_KEYS or key.endswith(_DATE_SUFFIXES)


def edge_date(node: Any) -> tuple[str, str] | None:
    """The first date element outside MIN_YEAR..MAX_YEAR in `node`: (its path inside `node`, the
    message), or None. `node` nests at most MAX_DEPTH levels (check_document ran)."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(node, ())]
    while stack:
        current, parts = stack.pop()
        items = current.items() if isinstance(current, dict) else enumerate(current)
        for key, value in items:
            if isinstance(value, dict | list):
                stack.append((value, (*parts, key)))
            elif isinstance(value, str) and isinstance(key, str) and _is_date_key(key):
                match = _YEAR.match(value)
                if match is not None and not MIN_YEAR <= int(match.group(1)) <= MAX_YEAR:
                    message = f"date {value!r} is outside the years {MIN_YEAR}-{MAX_YEAR} a record can hold"
                    return _relative((*parts, key)), message
    return None


def _may_hold_edge_date(text: bytes) -> bool:
    """Whether orjson's `text` may hold a date element outside the years (more than exactly: a key
    with an escaped quote is cut at it)."""
    for match in _EDGE_YEAR.finditer(text):
        end = match.start()
        key = text[text.rfind(b'"', 0, end) + 1 : end]
        if key in _DATE_KEY_BYTES or key.endswith(_DATE_SUFFIX_BYTES):
            return True
    return False


def _keys_in_text(data: bytes, *, compact: bool = False) -> int:
    """How many object keys the JSON text holds (`compact`: orjson's, never a space before a colon)."""
    if compact or _SPACED_KEY_END.search(data) is None:
        # Every '":' ends a key unless its quote is escaped, i.e. follows an odd run of backslashes:
        # '\\":' counts in runs of 1, '\\\\":' in runs of 1 and 2, and so on (C-speed counts, no regex).
        keys = data.count(b'":')
        run, sign = b"\\", -1
        while found := data.count(run + b'":'):
            keys += sign * found
            run, sign = run + b"\\", -sign
        return keys
    escaped = sum(1 for match in _ESCAPED_KEY_END.finditer(data) if len(match.group(1)) % 2)
    return len(_KEY_END.findall(data)) - escaped


def _first_duplicate(data: bytes) -> str | None:
    found: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for key, _ in items:
            if key in seen and not found:
                found.append(key)
            seen.add(key)
        return dict(items)

    json.loads(data, object_pairs_hook=pairs)
    return found[0] if found else None


def _duplicate_key(document_text: bytes | None, document: Any, data: bytes, root: str) -> str | None:
    """The first key that appears twice in one object of `data`, or None.

    The count of `data`'s keys exceeds the parsed document's by the duplicates, plus strings that start
    with a colon or white space and a colon (they look like key ends) and are not in the document
    text the same way; so equal counts prove there is none, unless `data` writes a colon as \\u003a.
    Unequal counts are checked exactly (a string such as ":-)" is not a duplicate).
    """
    parsed_keys = _walk(document, root) if document_text is None else _keys_in_text(document_text, compact=True)
    if _keys_in_text(data) == parsed_keys and b"\\u003" not in data:
        return None
    return _first_duplicate(data)


def check_document(document: Any, data: bytes, *, root: str) -> bool:
    """Refuse (InputError) a parsed document nested too deep or with duplicate keys.

    Returns whether it may hold a date outside MIN_YEAR..MAX_YEAR: then the caller locates it with
    `edge_date` in each resource (refused where the policy reads, a warning elsewhere).
    """
    text = _serialised(document)
    key = _duplicate_key(text, document, data, root)
    if key is not None:
        raise NotJSONError(
            f"the key {key!r} appears more than once in one object; JSON keys must be unique, and which "
            "one counts would change the decision",
            location=f"{root} (key {key!r})",
        )
    return text is None or _may_hold_edge_date(text)
