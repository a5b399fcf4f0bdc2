"""Notes on an order's timeline (PRODUCT.md §8.4): an agent's, or the order's own channel's."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from domain import commands as c
from entrypoints.http.commands import CommandRunner
from entrypoints.http.orders import ORDER_COMMAND, IdempotencyKey, Lookup, Req, on_order
from entrypoints.http.schemas import AddNoteBody


class NoteController(Controller):
    path = "/v1/orders"
    tags = ["orders"]

    @post("/{order_id:uuid}/notes", **ORDER_COMMAND)
    async def add_note(
        self,
        request: Req,
        order_id: FromPath[UUID],
        data: JSONBody[AddNoteBody],
        runner: NamedDependency[CommandRunner],
        lookup: Lookup,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[bytes]:
        """Write a note on the order's timeline (kind `note.added`, source the agent or the
        channel who wrote it), in any state of the order; nothing else about the order changes."""
        command = c.AddNote(order_id=order_id, text=data.text)
        return await on_order(request, order_id, command, runner, lookup, idempotency_key)
