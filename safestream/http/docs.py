"""OpenAPI 3.1 built from the routes themselves, and a readable ``/docs`` page.

Each handler is decorated with ``@documented(...)``; ``openapi()`` walks the
router, so a route cannot be added without showing up (a test checks that
every route is documented).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel

import safestream

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
DOC_ATTR = "__safestream_doc__"


@dataclass(frozen=True)
class RouteDoc:
    summary: str
    auth: str = "none"  # "none", "bearer", or the roles allowed, e.g. "admin"
    body: type[BaseModel] | None = None
    form: type[BaseModel] | None = None
    query: dict[str, str] = field(default_factory=dict)
    responses: dict[int, str] = field(default_factory=dict)
    tag: str = "api"


def documented(summary: str, **kwargs: Any) -> Callable[[Handler], Handler]:
    def mark(handler: Handler) -> Handler:
        setattr(handler, DOC_ATTR, RouteDoc(summary=summary, **kwargs))
        return handler

    return mark


def route_doc(handler: Any) -> RouteDoc | None:
    return getattr(handler, DOC_ATTR, None)


def openapi(app: web.Application) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in app.router.routes():
        doc = route_doc(route.handler)
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if doc is None or path is None or route.method == "HEAD":
            continue
        op: dict[str, Any] = {
            "summary": doc.summary,
            "tags": [doc.tag],
            "responses": {str(code): {"description": text} for code, text in (doc.responses or {200: "OK"}).items()},
        }
        if doc.auth != "none":
            op["security"] = [{"bearer": []}]
            op["description"] = f"Requires: {doc.auth}."
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in _path_params(path)
        ]
        params += [
            {"name": name, "in": "query", "required": False, "description": text, "schema": {"type": "string"}}
            for name, text in doc.query.items()
        ]
        if params:
            op["parameters"] = params
        content: dict[str, Any] = {}
        if doc.form is not None:
            content["application/x-www-form-urlencoded"] = {"schema": doc.form.model_json_schema()}
        if doc.body is not None:  # a route may take both (login: the OAuth2 form or JSON)
            content["application/json"] = {"schema": doc.body.model_json_schema()}
        if content:
            op["requestBody"] = {"required": True, "content": content}
        paths.setdefault(path, {})[route.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "SafeStream",
            "version": safestream.__version__,
            "description": "Live-stream chat with built-in moderation. Socket.IO events and every payload: the protocol "
            "document, /docs/protocol.",
        },
        "paths": dict(sorted(paths.items())),
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
    }


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]
