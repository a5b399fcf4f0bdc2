"""Renderers: a command's result to the response its caller gets (and its retries replay)."""

from __future__ import annotations

from uuid import UUID

from entrypoints.http.commands import json_response
from entrypoints.http.resources import order_resource, return_resource
from ports.idempotency import StoredResponse
from ports.unit_of_work import UnitOfWork


def etag(version: int) -> str:
    return f'"{version}"'


def order_rendered(status: int = 200):  # type: ignore[no-untyped-def]
    async def render(order_id: UUID, uow: UnitOfWork) -> StoredResponse:
        order = await uow.orders.get(order_id)
        return json_response(
            status,
            order_resource(order),
            ETag=etag(order.version),
            Location=f"/v1/orders/{order.id}",
        )

    return render


def return_rendered(status: int = 200):  # type: ignore[no-untyped-def]
    async def render(return_id: UUID, uow: UnitOfWork) -> StoredResponse:
        order = await uow.orders.get_by_return(return_id)
        ret = order.get_return(return_id)
        return json_response(
            status,
            return_resource(ret),
            ETag=etag(order.version),
            Location=f"/v1/returns/{ret.id}",
        )

    return render
