"""HTTP service for Kvalitetsassistenten: ``create_app()`` builds the FastAPI app.

Endpoints (OpenAPI docs at ``/docs``):

- ``POST /api/ask``, ``POST /api/ask/stream`` (SSE), ``GET /api/search``
- ``GET /api/documents``, ``GET /api/documents/{id}``, ``GET /api/jobs/{id}``
- ``POST /api/documents``, ``DELETE /api/documents/{id}`` (admin: ``Authorization: Bearer``)
- ``POST /api/feedback``, ``GET /healthz``, ``GET /readyz``
- ``GET /v1/models``, ``POST /v1/chat/completions`` (OpenAI-compatible, ``stream`` too)

Example:
    >>> from assistant.api import create_app  # then: uvicorn.run(create_app(), port=8000)
"""

from assistant.api.app import create_app

__all__ = ["create_app"]
