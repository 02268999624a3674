"""The HTTP API for referring physicians' systems: the FHIR operation, CDS Hooks, tokens and roles.

Its routers are put together with the web app's in `eligibility.app.create_app`, the one ASGI
application `drg-eligibility serve` runs.
"""
