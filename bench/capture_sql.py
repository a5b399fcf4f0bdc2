"""Print the SQL statements orderhub issues for one `POST /v1/orders` of 3 lines (what bench/bare_app.py
copies).

The real app (entrypoints/http/app.py) runs in-process on a throwaway PostgreSQL database with
`log_statement = 'all'`; the statements of the second order placed (the first warms the API-key
cache and the pools) are read back from PostgreSQL's log, with their parameters. (The command's
transaction runs on the asyncpg connection below SQLAlchemy, adapters/sql/statements.py, so
SQLAlchemy's own hooks do not see it.) Needs to read the log (PG_LOG, as
bench/statements_per_order.py). Stock is loaded in SQL first.

    .venv/bin/python -m bench.capture_sql
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from typing import Any

from litestar.testing import AsyncTestClient

from bench.bulk_load import connect, create_database, drop_database, pg_url
from bench.payloads import order_body, order_skus
from bench.statements_per_order import PG_LOG
from entrypoints.container import build_container
from entrypoints.http.app import create_app
from entrypoints.settings import Settings


def logged(text: str, database: str) -> list[str]:
    """The statements (and their parameters) that `database`'s sessions logged, in order; a log
    entry starts with its timestamp, and a statement may go on over several lines."""
    entries = re.split(r"\n(?=\d{4}-\d\d-\d\d )", text)
    mine = re.compile(
        r"\[\d+\] \S+@" + re.escape(database) + r" (LOG:  (?:statement|execute [^:]*)|DETAIL): "
    )
    return [entry[m.end() :].strip() for entry in entries if (m := mine.search(entry))]


async def capture() -> list[str]:
    name = await create_database("orderhub_bench_capture")
    try:
        conn = await connect(name)
        await conn.execute(
            "INSERT INTO stock_levels (sku, location, on_hand) "
            "SELECT 'SKU-' || lpad(i::text, 5, '0'), 'dc-east', 1000000 "
            "FROM generate_series(1, 1000) AS i"
        )
        await conn.execute(f"ALTER DATABASE {name} SET log_statement = 'all'")
        await conn.close()
        settings = Settings(database_url=pg_url(name), rate_limit="100000/second")
        container = build_container(settings)
        _, secret = await container.api_keys().create(_role("channel"), "web", "bench")
        await container.engine().dispose()  # the test client runs the app on a loop of its own
        app = create_app(container)
        start = 0
        async with AsyncTestClient(app=app) as client:
            for i in range(2):
                start = PG_LOG.stat().st_size
                r = await client.post(
                    "/v1/orders",
                    content=json.dumps(order_body(f"CAP-{i}", i, order_skus("spread", i))),
                    headers={
                        "Authorization": f"Bearer {secret}",
                        "Idempotency-Key": str(uuid.uuid4()),
                        "Content-Type": "application/json",
                    },
                )
                assert r.status_code == 201, r.text
        await container.engine().dispose()
        await container.read_engine().dispose()
        return logged(PG_LOG.read_bytes()[start:].decode(errors="replace"), name)
    finally:
        await drop_database(name)


def _role(value: str) -> Any:
    from ports.api_keys import Role  # noqa: PLC0415

    return Role(value)


def main() -> None:
    for line in asyncio.run(capture()):
        print(f"-- {line}" if line.startswith("parameters:") else f"\n{line}")


if __name__ == "__main__":
    main()
