"""Jinja2 rendering for server-rendered pages (docs, console). Autoescape is always on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from safestream.resources import shipped

TEMPLATES_DIR = shipped("templates")
STATIC_DIR = shipped("static")
JINJA_KEY = web.AppKey("jinja", jinja2.Environment)


def create_environment(directory: Path = TEMPLATES_DIR) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        autoescape=True,  # user text is always text, never HTML
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(jinja: jinja2.Environment, name: str, context: dict[str, Any], *, status: int = 200) -> web.Response:
    """A page or fragment as an HTML response; handlers pass the app's environment (``JINJA_KEY``)."""
    html = jinja.get_template(name).render(**context)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
