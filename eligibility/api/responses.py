"""Response classes: JSON serialised with orjson, as FHIR (application/fhir+json) or plain JSON."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

__all__ = ["FhirResponse", "JsonResponse"]


class JsonResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class FhirResponse(JsonResponse):
    media_type = "application/fhir+json"
