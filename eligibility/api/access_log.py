"""Access-log lines without secrets: the query of card links and of `access_token` is not written.

A card link's query (`for`, `exp`, `sig`) is its credential for hours, and a CDS client may pass
`?access_token=`; uvicorn's access log wrote both in full for anyone who reads the logs (issue 12).
The filter rewrites the logged path of such requests to `PATH?[redacted]`; other queries stay.
"""

from __future__ import annotations

import logging
import re

__all__ = ["RedactSecrets", "install"]

_CARD_LINK = re.compile(r"/decisions/[^/?]+/view\?")
_SECRET_PARAM = re.compile(r"[?&](access_token|sig|token)=", re.IGNORECASE)


def redact(path: str) -> str:
    if "?" in path and (_CARD_LINK.search(path) or _SECRET_PARAM.search(path)):
        return path.split("?", 1)[0] + "?[redacted]"
    return path


class RedactSecrets(logging.Filter):
    """For uvicorn's access records: args are (client, method, full path, HTTP version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], redact(args[2]), args[3], args[4])
        return True


def install() -> None:
    """Once per process, on uvicorn's access logger."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactSecrets) for f in logger.filters):
        logger.addFilter(RedactSecrets())
