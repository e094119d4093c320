"""Motia Streams: the handler API, the WebSocket hub, and the SQLite and PostgreSQL stores."""
