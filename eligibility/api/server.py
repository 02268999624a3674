"""The uvicorn configuration the service runs with, and a request-head limit uvicorn lacks.

uvicorn's httptools parser accepts request heads of any size: one 40 MB header was read whole into
memory and reached the application (and, through an error message, the audit trail). The protocol
below counts the bytes of each request head (request line and headers) as they arrive and, past
`api_max_header_bytes` (default 16 KB), answers 431 with an OperationOutcome and closes the
connection before the application sees the request. At most one network read past the limit is
buffered. Refused heads are logged, not recorded: like a routing error, they never reached an
operation, and recording them is what a stranger would use to grow the trail.
"""

from __future__ import annotations

from typing import Any

import orjson
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from eligibility.api import access_log
from eligibility.settings import Settings

__all__ = ["BoundedHeadProtocol", "uvicorn_config"]

_OUTCOME = orjson.dumps(
    {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "too-costly",
                "diagnostics": "the request line and headers exceed the server's limit",
            }
        ],
    }
)


class BoundedHeadProtocol(HttpToolsProtocol):
    """httptools with a cap on the size of every request head (431 beyond it)."""

    max_head_bytes = 16 * 1024

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._head_bytes = 0
        self._parsed_head_bytes = 0
        self._head_completed = False
        self._refused = False

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = 0
        self._parsed_head_bytes = 0

    def on_url(self, url: bytes) -> None:
        self._parsed_head_bytes += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._parsed_head_bytes += len(name) + len(value) + 4
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_completed = True
        if self._parsed_head_bytes > self.max_head_bytes:  # a head that arrived in one read
            self._refuse()
            return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        super().on_message_complete()
        self._in_head = True  # the next bytes on a kept-alive connection start a new head
        self._head_bytes = 0

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        counting = self._in_head
        self._head_completed = False
        super().data_received(data)
        if counting and self._in_head and not self._head_completed:  # still inside the same head
            self._head_bytes += len(data)
            if self._head_bytes > self.max_head_bytes:
                self._refuse()

    def _refuse(self) -> None:
        if self._refused:
            return
        self._refused = True
        self.logger.warning("refused a request head over %d bytes (431)", self.max_head_bytes)
        head = (
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: application/fhir+json\r\n"
            b"content-length: " + str(len(_OUTCOME)).encode("ascii") + b"\r\n"
            b"connection: close\r\n\r\n"
        )
        self.transport.write(head + _OUTCOME)
        self.transport.close()


def protocol_for(settings: Settings) -> type[BoundedHeadProtocol]:
    """A protocol class carrying the configured limit (uvicorn instantiates it per connection)."""
    return type("ConfiguredHeadProtocol", (BoundedHeadProtocol,), {"max_head_bytes": settings.api_max_header_bytes})


def uvicorn_config(app: Any, settings: Settings, *, host: str, port: int, **options: Any) -> uvicorn.Config:
    config = uvicorn.Config(app, host=host, port=port, http=protocol_for(settings), server_header=False, **options)
    access_log.install()  # after uvicorn configured its loggers: card-link and token queries are not logged
    return config
