"""A stand-in for a CDS client's FHIR server (httpx.MockTransport): reads and searches over one bundle."""

from __future__ import annotations

from typing import Any

import httpx


class FakeFhirServer:
    """Serves `bundle` at `base`; records every request; optionally pages Observation searches."""

    def __init__(self, base: str, bundle: dict[str, Any], *, token: str, page_size: int | None = None) -> None:
        self.base = base.rstrip("/")
        self.token = token
        self.page_size = page_size
        self.requests: list[httpx.Request] = []
        self.by_type: dict[str, list[dict[str, Any]]] = {}
        for entry in bundle["entry"]:
            self.by_type.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handle))

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return httpx.Response(401, json={"resourceType": "OperationOutcome", "issue": []})
        path = request.url.path.removeprefix(httpx.URL(self.base).path).strip("/")
        resource_type, _, resource_id = path.partition("/")
        if resource_id:
            found = [r for r in self.by_type.get(resource_type, []) if r.get("id") == resource_id]
            return httpx.Response(200, json=found[0]) if found else httpx.Response(404, json={})
        matches = list(self.by_type.get(resource_type, []))
        if "_include" in request.url.params and resource_type.startswith("Medication"):
            matches += self.by_type.get("Medication", [])
        return httpx.Response(200, json=self._page(resource_type, matches, request))

    def _page(self, resource_type: str, matches: list[dict[str, Any]], request: httpx.Request) -> dict[str, Any]:
        bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset"}
        if self.page_size is None or resource_type != "Observation":
            return {**bundle, "entry": [{"resource": r} for r in matches]}
        offset = int(request.url.params.get("_offset", "0"))
        page = matches[offset : offset + self.page_size]
        bundle["entry"] = [{"resource": r} for r in page]
        if offset + self.page_size < len(matches):
            next_url = request.url.copy_merge_params({"_offset": str(offset + self.page_size)})
            bundle["link"] = [{"relation": "next", "url": str(next_url)}]
        return bundle
