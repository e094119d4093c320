-- A second migration that refers to the first, so the order of a project's migrations shows.
CREATE TABLE visit_notes (
    visit_id bigint NOT NULL REFERENCES visits (id),
    note text NOT NULL
);
