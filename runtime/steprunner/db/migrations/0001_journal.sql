-- The runtime's journal when DATABASE_URL is set (runtime/steprunner/journal/postgres.py): the tables of
-- DATA_DIR/steprunner.db, shared by every node. Times are the database's (`now()`), the one clock
-- every node shares. JSON payloads are kept as the text the runtime wrote (as SQLite keeps them).

-- One row per (event, subscriber): pending, claimed by a node with a lease, or dead-lettered.
CREATE TABLE steprunner_deliveries (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic text NOT NULL,
    step text NOT NULL,
    data text NOT NULL,
    trace_id text NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'claimed', 'dead')),
    attempts integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL,
    available_at timestamptz NOT NULL,
    lease_owner text,
    lease_until timestamptz,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX steprunner_deliveries_due ON steprunner_deliveries (available_at, id) WHERE status = 'pending';
CREATE INDEX steprunner_deliveries_claimed ON steprunner_deliveries (lease_owner, lease_until) WHERE status = 'claimed';
CREATE INDEX steprunner_deliveries_dead ON steprunner_deliveries (id) WHERE status = 'dead';

-- The nodes delivering now: each says it is alive until `alive_until` (a heartbeat), and a claim
-- whose node's heartbeat lapsed is taken over (a pid can only be checked on its own host).
CREATE TABLE steprunner_nodes (
    owner text PRIMARY KEY,
    alive_until timestamptz NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now()
);

-- `context.state`; keys in byte order, as SQLite orders them.
CREATE TABLE steprunner_state (
    group_id text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    value text NOT NULL,
    PRIMARY KEY (group_id, key)
);

-- A cron tick runs on the node that inserts its row first.
CREATE TABLE steprunner_cron_ticks (
    step text NOT NULL,
    tick bigint NOT NULL,
    owner text NOT NULL,
    fired_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (step, tick)
);
