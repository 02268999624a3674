"""CDS Hooks: fetch what the client did not prefetch from its FHIR server, with its access token.

Only the prefetch keys the client left unsatisfied are fetched (absent, or a searchset with a `next`
page); search results are followed page by page, but never off the client's server, since the token
goes with every request. Everything runs under one deadline. Any failure is a DataUnavailableError:
the spec's 412, "unable to retrieve the necessary FHIR data".
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import httpx
import orjson

from eligibility.api.errors import DataUnavailableError
from eligibility.errors import InputError
from fhir_adapters.cds_hooks import fetch_queries, prefetch_templates, prefetch_to_bundle

__all__ = ["MAX_PAGES", "complete_bundle", "unsatisfied_keys"]

MAX_PAGES = 50  # per query; a record needing more is not one patient's chart


def _next_link(resource: Mapping[str, Any]) -> str | None:
    for link in resource.get("link") or []:
        if isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str):
            return str(link["url"])
    return None


def unsatisfied_keys(prefetch: Mapping[str, Any] | None) -> list[str]:
    given = prefetch or {}
    return [
        key
        for key in prefetch_templates()
        if key not in given or (isinstance(given[key], dict) and _next_link(given[key]) is not None)
    ]


def check_server(server: str, *, allowed: tuple[str, ...] | None, require_https: bool) -> str:
    url = httpx.URL(server)
    if url.scheme not in {"https", "http"} or not url.host:
        raise InputError("fhirServer must be an http(s) URL", location="fhirServer")
    if require_https and url.scheme != "https":
        raise InputError("fhirServer must use https outside development", location="fhirServer")
    base = server.rstrip("/")
    if allowed is not None and not any(base == a.rstrip("/") or base.startswith(a.rstrip("/") + "/") for a in allowed):
        raise InputError("fhirServer is not one this client is registered with", location="fhirServer")
    return base


async def _get(client: httpx.AsyncClient, url: str, token: str, key: str) -> Any:
    try:
        response = await client.get(
            url, headers={"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}
        )
    except httpx.HTTPError as exc:
        raise DataUnavailableError(f"fetching {key!r} failed: {type(exc).__name__}", location="fhirServer") from None
    if response.status_code == 404:
        return None  # like a prefetch `null`: nothing found
    if response.status_code != 200:
        raise DataUnavailableError(
            f"the FHIR server answered {response.status_code} for {key!r}", location="fhirServer"
        )
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        raise DataUnavailableError(f"the FHIR server's answer for {key!r} is not JSON", location="fhirServer") from None


async def _fetch(client: httpx.AsyncClient, base: str, query: str, token: str, key: str) -> Any:
    first = await _get(client, f"{base}/{query}", token, key)
    if not isinstance(first, dict) or first.get("resourceType") != "Bundle":
        return first
    entries = list(first.get("entry") or [])
    page, pages = first, 1
    while (url := _next_link(page)) is not None:
        if not url.startswith(base + "/") and not url.startswith(base + "?"):
            raise DataUnavailableError(f"the next page of {key!r} is on another server", location="fhirServer")
        if pages >= MAX_PAGES:
            raise DataUnavailableError(f"{key!r} has more than {MAX_PAGES} pages", location="fhirServer")
        page = await _get(client, url, token, key)
        if not isinstance(page, dict):
            raise DataUnavailableError(f"a page of {key!r} is not a Bundle", location="fhirServer")
        entries += page.get("entry") or []
        pages += 1
    return {**{k: v for k, v in first.items() if k != "link"}, "entry": entries}


async def complete_bundle(
    request: dict[str, Any],
    *,
    client: httpx.AsyncClient,
    timeout_s: float,
    allowed_servers: tuple[str, ...] | None,
    require_https: bool,
) -> bytes:
    """The patient's Bundle from the prefetch, fetching the missing parts from `fhirServer`."""
    bundle = prefetch_to_bundle(request)
    if bundle is not None:
        return bundle
    prefetch = request.get("prefetch") if isinstance(request.get("prefetch"), dict) else {}
    missing = unsatisfied_keys(prefetch)
    server, authorization = request.get("fhirServer"), request.get("fhirAuthorization")
    token = authorization.get("access_token") if isinstance(authorization, dict) else None
    if not isinstance(server, str) or not isinstance(token, str) or not token:
        raise DataUnavailableError(
            f"prefetch is missing {', '.join(missing) or 'usable data'}, and there is no fhirServer with "
            "fhirAuthorization to fetch it from",
            location="prefetch",
        )
    base = check_server(server, allowed=allowed_servers, require_https=require_https)
    queries = {key: query for key, query in fetch_queries(request.get("context") or {}).items() if key in missing}
    try:
        async with asyncio.timeout(timeout_s):
            found = await asyncio.gather(*(_fetch(client, base, q, token, k) for k, q in queries.items()))
    except TimeoutError:
        raise DataUnavailableError(
            f"the FHIR server did not answer within {timeout_s:g} s", location="fhirServer"
        ) from None
    completed = {**request, "prefetch": {**(prefetch or {}), **dict(zip(queries, found, strict=True))}}
    bundle = prefetch_to_bundle(completed)
    if bundle is None:
        raise DataUnavailableError("the FHIR server's answers do not make a patient record", location="fhirServer")
    return bundle
