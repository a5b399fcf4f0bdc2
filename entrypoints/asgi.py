"""The ASGI application of `orderhub serve`, built from the environment (uvicorn factory)."""

from __future__ import annotations

from litestar import Litestar

from entrypoints.container import build_container
from entrypoints.http.app import create_app
from entrypoints.settings import Settings


def app() -> Litestar:
    return create_app(build_container(Settings.from_env()))
