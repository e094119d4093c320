-- The pets, when DATABASE_URL is set (services/pet_store_pg.py): the same JSON documents pets.json
-- holds, one row each. `json`, not `jsonb`: the document comes back as it was written (key order
-- included), and nothing queries inside it but the generated columns below.

-- Ids "1", "2", ...: one sequence, so every node hands out different ones and none is ever reused.
CREATE SEQUENCE pet_ids AS bigint;

CREATE TABLE pets (
    id text COLLATE "C" PRIMARY KEY,
    doc json NOT NULL,
    -- the listing order of pets.json: numeric ids by number, then any other ids by text
    id_kind smallint NOT NULL GENERATED ALWAYS AS (CASE WHEN id ~ '^[0-9]+$' THEN 0 ELSE 1 END) STORED,
    id_number numeric NOT NULL GENERATED ALWAYS AS (CASE WHEN id ~ '^[0-9]+$' THEN id::numeric ELSE 0 END) STORED,
    -- the listing filters
    status text GENERATED ALWAYS AS (doc ->> 'status') STORED,
    species text GENERATED ALWAYS AS (doc ->> 'species') STORED,
    CHECK (doc ->> 'id' = id)
);

CREATE UNIQUE INDEX pets_in_order ON pets (id_kind, id_number, id);
CREATE INDEX pets_by_status ON pets (status, id_kind, id_number, id);
