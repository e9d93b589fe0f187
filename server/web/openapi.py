"""The OpenAPI 3.1 document of every HTTP route, served at `/openapi.json`.

Built once at start from the table in `server/web/endpoints.py` and the msgspec structs the
handlers decode and encode: their JSON Schemas come from msgspec itself (`schema_components`),
so a field added to an answer is in the document without anyone writing it twice. Websockets
are not HTTP operations: the document's description names them, the README has their frames.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from server.web.endpoints import API, ERRORS, EXAMPLES, JSON, TEXT, Answer, Endpoint, Param
from server.web.page_endpoints import pages
from server.web.responses import NOSNIFF, ErrorBody

RETRY = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "string"}}}

DESCRIPTION = """\
livethread's HTTP API (v1), its pages, scripts, feeds and probes. Every error answers
`{"error": code, "message": text, "fields"?: {name: message}}` (the `ErrorBody` schema), its
message in the request's `Accept-Language`. Moderators authenticate with
`Authorization: Bearer TOKEN`; readers with `X-Account-Token` (signed in) or, for reactions,
`X-Reader-Key`; authors edit with `X-Edit-Token`. A browser's `Origin` must be one its site
lists (else 403 `origin_refused`). Every GET also answers HEAD.

Live updates are websockets, not HTTP operations (frames in the README):
`/ws/v1/threads?site=S&thread=T&since=N` (a thread's events),
`/ws/v1/moderation?site=S` (a site's review queue, moderators) and
`/ws/v1/counts?site=S&thread=A&thread=B` (live comment counts)."""


class OpenApi:
    """The document, built and encoded once; `routes()` serves it."""

    def __init__(self, static: Path) -> None:
        # The widget's language files, as server/web/languages.py serves them.
        languages = sorted(path.stem for path in (static / "lang").glob("*.js"))
        self.endpoints = (*API, *pages(languages))
        self.document = build(self.endpoints)
        self._body = msgspec.json.encode(self.document)

    def routes(self) -> list[BaseRoute]:
        return [Route("/openapi.json", self.serve, methods=["GET"])]

    async def serve(self, request: Request) -> Response:
        headers = {**NOSNIFF, "Cache-Control": "public, max-age=300"}
        return Response(self._body, headers=headers, media_type=JSON)


def build(endpoints: tuple[Endpoint, ...]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of `endpoints`, their structs' schemas as components."""
    kinds: list[Any] = [ErrorBody]
    for endpoint in endpoints:
        kinds += [endpoint.body] if endpoint.body is not None else []
        for answer in endpoint.answers.values():
            kinds += _types(answer.body)
    unique = list(dict.fromkeys(kinds))
    refs, components = msgspec.json.schema_components(
        unique, ref_template="#/components/schemas/{name}"
    )
    schemas = dict(zip(unique, refs, strict=True))
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": "livethread", "version": "1", "description": DESCRIPTION},
        "paths": paths,
        "components": {
            "schemas": components,
            "responses": {str(status): _error(status) for status in ERRORS},
            "securitySchemes": {"moderator": {"type": "http", "scheme": "bearer"}},
        },
    }


def _types(body: Any) -> list[Any]:
    """The structs an answer's body names (none for a literal schema)."""
    if body is None or isinstance(body, dict):
        return []
    return list(body) if isinstance(body, tuple) else [body]


def _schema(body: Any, schemas: dict[Any, Any]) -> Any:
    if isinstance(body, dict):
        return body
    if isinstance(body, tuple):
        return {"anyOf": [schemas[kind] for kind in body]}
    return schemas[body]


def _operation(endpoint: Endpoint, schemas: dict[Any, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": endpoint.summary,
        "operationId": f"{endpoint.method.lower()} {endpoint.path}",
        "tags": [endpoint.tag],
        "responses": {
            **{str(s): _answer(a, schemas) for s, a in endpoint.answers.items()},
            **{str(s): {"$ref": f"#/components/responses/{s}"} for s in endpoint.errors},
        },
    }
    if endpoint.params:
        operation["parameters"] = [_parameter(p) for p in endpoint.params]
    if endpoint.body is not None:
        content: dict[str, Any] = {JSON: {"schema": schemas[endpoint.body]}}
        if endpoint.body in EXAMPLES:
            content[JSON]["example"] = EXAMPLES[endpoint.body]
        operation["requestBody"] = {"required": True, "content": content}
    if endpoint.form:
        properties = dict.fromkeys(endpoint.form, TEXT)
        form = {"schema": {"type": "object", "properties": properties}}
        content = {"application/x-www-form-urlencoded": form}
        operation["requestBody"] = {"required": False, "content": content}
    if endpoint.moderator == "required":
        operation["security"] = [{"moderator": []}]
    elif endpoint.moderator == "optional":
        operation["security"] = [{}, {"moderator": []}]
    return operation


def _parameter(param: Param) -> dict[str, Any]:
    found: dict[str, Any] = {
        "name": param.name,
        "in": param.where,
        "description": param.description,
        "required": param.required,
        "schema": dict(param.schema),
    }
    if param.example is not None:
        found["example"] = param.example
    if param.schema.get("type") == "array":
        found |= {"style": "form", "explode": True}
    return found


def _answer(answer: Answer, schemas: dict[Any, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {"description": answer.description}
    if answer.media:
        schema = _schema(answer.body, schemas)
        found["content"] = {answer.media.split(";")[0]: {"schema": schema}}
    return found


def _error(status: int) -> dict[str, Any]:
    found: dict[str, Any] = {
        "description": ERRORS[status],
        "content": {JSON: {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
    if status in (429, 503):
        found["headers"] = RETRY
    return found
