-- `Idempotency-Key`s when DATABASE_URL is set (services/idempotency_pg.py): DATA_DIR/idempotency.db's
-- table, shared by every node, so a client's retry may reach any of them.
CREATE TABLE idempotency_keys (
    key text PRIMARY KEY,
    fingerprint text NOT NULL,
    state text NOT NULL CHECK (state IN ('pending', 'done')),
    response text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);
