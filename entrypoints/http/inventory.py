"""Stock per SKU: on hand, reserved and available at every location."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import msgspec
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, SkipValidation

from entrypoints.http.auth import roles
from entrypoints.http.problems import ApiError
from entrypoints.http.resources import InventoryResource, inventory_resource
from ports.api_keys import Role
from ports.order_lookup import OrderLookup

#: A port (a Protocol): given as is, not validated as a value.
Lookup = NamedDependency[SkipValidation[OrderLookup]]


class InventoryController(Controller):
    path = "/v1/inventory"
    tags = ["inventory"]

    @get(
        "/{sku:path}",
        guards=[roles(Role.CHANNEL, Role.AGENT, Role.OPS)],
        responses={
            200: ResponseSpec(InventoryResource, description="stock of the SKU per location")
        },
    )
    async def get_inventory(
        self,
        request: Request[Any, Any, Any],
        sku: FromPath[str],
        lookup: Lookup,
    ) -> Response[bytes]:
        """A SKU nobody ever stocked reads as zero everywhere (no locations)."""
        # From the raw path: SKUs may contain slashes (even `//`, which routing would fold).
        raw = request.scope.get("raw_path") or b""
        prefix = b"/v1/inventory/"
        if raw.startswith(prefix):
            sku = unquote(raw[len(prefix) :].decode("latin-1"), errors="strict")
        else:
            sku = sku.removeprefix("/")
        if "\x00" in sku:
            raise ApiError(422, "validation_error", "a SKU has no NUL characters",
                           errors=[{"field": "sku", "message": "must not contain NUL characters"}])  # fmt: skip
        levels = await lookup.stock(sku) if len(sku) <= 64 else []
        return Response(
            content=msgspec.json.encode(inventory_resource(sku, levels)),
            media_type="application/json",
        )
