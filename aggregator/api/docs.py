"""`/docs`: Swagger UI from the pinned npm package `swagger-ui-dist` (package-lock.json), served by the
service itself, so the page works offline (FastAPI's default loads it from a CDN). `/docs/assets/NAME`
serves the few files the page needs; without the package installed, `/docs` says how to install it."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from base.errors import ToolchainError
from contracts.toolchain import npm_package

router = APIRouter(include_in_schema=False)
ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")


def swagger_dir() -> Path | None:
    try:
        return npm_package("swagger-ui-dist")
    except ToolchainError:
        return None


@router.get("/docs", response_class=HTMLResponse)
def docs() -> HTMLResponse:
    if swagger_dir() is None:
        return HTMLResponse(
            "<!doctype html><title>API docs</title><p>Swagger UI is not installed: run <code>npm ci</code> "
            "in the flexsim checkout (or <code>make setup</code>). The API document is at "
            '<a href="/openapi.json">/openapi.json</a>.</p>',
            status_code=503,
        )
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="flexsim aggregator - API",
        swagger_js_url="/docs/assets/swagger-ui-bundle.js",
        swagger_css_url="/docs/assets/swagger-ui.css",
        swagger_favicon_url="/docs/assets/favicon-32x32.png",
    )


@router.get("/docs/assets/{name}")
def asset(name: str) -> FileResponse:
    folder = swagger_dir()
    if name not in ASSETS or folder is None:
        raise HTTPException(404, f"no such documentation asset: {name}")
    return FileResponse(folder / name)
