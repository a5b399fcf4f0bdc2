"""Print the SQL statements orderhub issues for one `POST /v1/orders` (what bench/bare_app.py copies).

The real app (entrypoints/http/app.py) runs in-process on a throwaway PostgreSQL database; a
`before_cursor_execute` hook on its engines records every statement of the second order placed
(the first warms the API-key cache). Stock is loaded in SQL first.

    .venv/bin/python -m bench.capture_sql
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import event

from bench.bulk_load import connect, create_database, drop_database, pg_url
from bench.payloads import order_body
from entrypoints.container import build_container
from entrypoints.http.app import create_app
from entrypoints.settings import Settings


async def capture() -> list[tuple[str, Any]]:
    name = await create_database("orderhub_bench_capture")
    try:
        conn = await connect(name)
        await conn.execute(
            "INSERT INTO stock_levels (sku, location, on_hand) "
            "SELECT 'SKU-' || lpad(i::text, 5, '0'), 'dc-east', 1000000 "
            "FROM generate_series(1, 1000) AS i"
        )
        await conn.close()
        settings = Settings(database_url=pg_url(name), rate_limit="100000/second")
        container = build_container(settings)
        _, secret = await container.api_keys().create(_role("channel"), "web", "bench")
        await container.engine().dispose()  # the test client runs the app on a loop of its own
        seen: list[tuple[str, Any]] = []
        armed = [False]

        def hook(conn: Any, cursor: Any, statement: str, params: Any, ctx: Any, many: bool) -> None:
            if armed[0]:
                seen.append((statement, params))

        for engine in (container.engine(), container.read_engine()):
            event.listen(engine.sync_engine, "before_cursor_execute", hook)
        app = create_app(container)
        async with AsyncTestClient(app=app) as client:
            for i in range(2):
                armed[0] = i == 1
                r = await client.post(
                    "/v1/orders",
                    content=json.dumps(order_body(f"CAP-{i}", i)),
                    headers={
                        "Authorization": f"Bearer {secret}",
                        "Idempotency-Key": str(uuid.uuid4()),
                        "Content-Type": "application/json",
                    },
                )
                assert r.status_code == 201, r.text
        await container.engine().dispose()
        await container.read_engine().dispose()
        return seen
    finally:
        await drop_database(name)


def _role(value: str) -> Any:
    from ports.api_keys import Role  # noqa: PLC0415

    return Role(value)


def main() -> None:
    for i, (statement, params) in enumerate(asyncio.run(capture()), 1):
        print(f"-- {i}\n{statement}\n-- params: {params!r}\n")


if __name__ == "__main__":
    main()
