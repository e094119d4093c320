-- The fixture project's own table, so `db migrate` has a project's migrations to apply after the
-- runtime's (test_db_migrate.py); no step reads it.
CREATE TABLE visits (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    visitor text NOT NULL
);
