"""Reading request bodies into pydantic models, with typed errors.

Every JSON and form body passes here, so the checks every text field needs
live here once: nesting too deep to parse is a 400, and a NUL character in any
string (PostgreSQL cannot store one in text) is a 422 before a handler sees it.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from safestream.errors import BadRequest, InvalidPayload

M = TypeVar("M", bound=BaseModel)


def field_errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(p) for p in err["loc"]) or "body", "message": err["msg"]}
        for err in exc.errors(include_url=False, include_input=False)
    ]


NUL_REFUSED = "text must not contain NUL (\\u0000) characters"


def has_nul(data: Any) -> bool:
    """True when any string (key or value) in parsed JSON or form data holds a NUL."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def parse(model: type[M], data: Any) -> M:
    if has_nul(data):
        raise InvalidPayload(NUL_REFUSED, code="invalid_text")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidPayload("the request body is invalid", fields=field_errors(exc)) from exc


async def read_json(request: web.Request, model: type[M]) -> M:
    if not request.body_exists:
        data: Any = {}
    else:
        try:
            data = json.loads(await request.text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BadRequest("the body is not valid JSON", code="invalid_json") from exc
        except RecursionError as exc:  # "[[[[...]]]]" thousands deep: the parser gives up
            raise BadRequest("the body is nested too deeply", code="invalid_json") from exc
    if not isinstance(data, dict):
        raise InvalidPayload("the body must be a JSON object")
    return parse(model, data)


async def form_fields(request: web.Request) -> dict[str, str]:
    """A form body's text fields; a malformed body (no multipart boundary, bad bytes) is a 400."""
    try:
        form = await request.post()
    except (ValueError, UnicodeDecodeError, AssertionError) as exc:
        raise BadRequest("the form body cannot be read", code="invalid_form") from exc
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    if has_nul(fields):
        raise InvalidPayload(NUL_REFUSED, code="invalid_text")
    return fields


async def read_form(request: web.Request, model: type[M]) -> M:
    return parse(model, await form_fields(request))
