-- Motia Streams when DATABASE_URL is set (runtime/steprunner/streams/store_pg.py): the items and their change
-- log of DATA_DIR/steprunner.db, shared by every node. Items are kept as the JSON text the runtime
-- wrote, as SQLite keeps them.

-- One row per item; `seq` is the change that last wrote it (it orders items of one `_createdAt`).
CREATE TABLE steprunner_stream_items (
    stream text NOT NULL,
    group_id text NOT NULL,
    id text NOT NULL,
    item text NOT NULL,
    created_at double precision NOT NULL,
    seq bigint NOT NULL,
    PRIMARY KEY (stream, group_id, id)
);

-- The change log every node tails (woken by NOTIFY): creates, updates, deletes and sent events.
CREATE TABLE steprunner_stream_changes (
    seq bigint PRIMARY KEY,
    stream text NOT NULL,
    group_id text NOT NULL,
    item_id text,
    kind text NOT NULL CHECK (kind IN ('create', 'update', 'delete', 'event')),
    payload text NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX steprunner_stream_changes_at ON steprunner_stream_changes (at);

-- The last `seq` given out. A writer holds this one row's lock until it commits, so changes commit
-- in `seq` order: a reader that sees change N sees every change before it (a sequence can't
-- promise that: its numbers are handed out before, and committed in any order).
CREATE TABLE steprunner_stream_seq (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    seq bigint NOT NULL
);
INSERT INTO steprunner_stream_seq (seq) VALUES (0);
