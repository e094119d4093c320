"""The event journal: what the runtime asks of one (contract), SQLite, PostgreSQL, and one transaction per handler."""
