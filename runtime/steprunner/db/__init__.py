"""PostgreSQL for database mode: the connection pool, its migrations, and the busy answer."""
