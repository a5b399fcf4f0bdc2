"""SQLAlchemy 2 (Core) persistence: PostgreSQL through asyncpg, SQLite through aiosqlite."""
