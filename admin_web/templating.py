"""One Jinja2 environment for every page: autoescaping on, so client text is always inert."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

TEMPLATES = Path(__file__).resolve().parent / "templates"

env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def csrf_token(request: Request) -> str:
    getter = request.scope.get("csrftoken")
    return getter() if callable(getter) else ""


def render_page(request: Request, template: str, status_code: int = 200,
                **context: Any) -> HTMLResponse:
    context.setdefault("request", request)
    context.setdefault("csrftoken", csrf_token(request))
    html = env.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code)
