"""Reading a request body within bounds: a size limit (413) and a time limit (408).

A declared Content-Length over the limit is refused before a byte of the body is read; a chunked
body is counted as it arrives. Whatever was received before the refusal is kept in
`request.state.received`, so the rejection recorded in the audit trail holds it.
"""

from __future__ import annotations

import asyncio

from starlette.requests import ClientDisconnect, Request

from eligibility.api.errors import PayloadTooLargeError, RequestTimeoutError, UnsupportedMediaTypeError
from eligibility.errors import InputError

__all__ = ["FHIR_JSON", "JSON_TYPES", "NDJSON_TYPES", "check_content_type", "read_body"]

FHIR_JSON = "application/fhir+json"
JSON_TYPES = frozenset({FHIR_JSON, "application/json", "application/json+fhir"})
NDJSON_TYPES = frozenset({"application/fhir+ndjson", "application/x-ndjson", "application/ndjson"})


def check_content_type(request: Request, accepted: frozenset[str]) -> None:
    """415 for a declared media type we do not read; a missing Content-Type is read as JSON."""
    declared = request.headers.get("content-type")
    if declared is None:
        return
    media_type = declared.split(";", 1)[0].strip().lower()
    if media_type not in accepted:
        raise UnsupportedMediaTypeError(
            f"Content-Type {media_type!r} is not accepted; send one of {', '.join(sorted(accepted))}",
            location="Content-Type header",
        )


async def read_body(request: Request, *, max_bytes: int, timeout_s: float) -> bytes:
    request.state.received = b""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLargeError(
            f"the body declares {int(declared)} bytes; the limit is {max_bytes}", location="Content-Length header"
        )
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():
                size += len(chunk)
                if size > max_bytes:
                    raise PayloadTooLargeError(f"the body exceeds the limit of {max_bytes} bytes", location="body")
                chunks.append(chunk)
    except TimeoutError:
        raise RequestTimeoutError(
            f"the body was not received within {timeout_s:g} s ({size} bytes arrived)", location="body"
        ) from None
    except ClientDisconnect:
        raise InputError(f"the client disconnected after sending {size} bytes", location="body") from None
    finally:
        request.state.received = body = b"".join(chunks)
    if not body:
        raise InputError("the request has no body; send a FHIR resource", location="body")
    return body
