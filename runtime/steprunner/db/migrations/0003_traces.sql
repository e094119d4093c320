-- Live traces shared by every node (runtime/steprunner/web/trace_share.py): what each node's trace recorder
-- saw, one row per batch (a JSON array of records, a few every ~100 ms), read by the other nodes
-- when someone watches or reads their flow view. Observability, not data: UNLOGGED (no WAL; emptied
-- if the database crashes) and trimmed to the last minutes and the newest records.
CREATE UNLOGGED TABLE steprunner_trace_batches (
    seq bigint PRIMARY KEY,
    node text NOT NULL,
    records integer NOT NULL,
    batch text NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX steprunner_trace_batches_at ON steprunner_trace_batches (at);

-- The last `seq` given out; a batch's insert holds this row's lock until it commits, so batches
-- commit in `seq` order and a reader that has seen batch N has seen every batch before it (as
-- steprunner_stream_seq does for stream changes). Logged: it must outlive a crash of the database.
CREATE TABLE steprunner_trace_seq (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    seq bigint NOT NULL
);
INSERT INTO steprunner_trace_seq (seq) VALUES (0);
