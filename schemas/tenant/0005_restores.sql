-- One row per restore: the TenantRestored event at `position` brought the
-- tenant back to `target`.  Rows are inserted with their event and never
-- changed, except `completed_at`, set once the restored read models are in
-- place.  The effective history of the log is computed from these rows.

CREATE TABLE es.restore_markers (
    position     bigint      PRIMARY KEY,
    target       bigint      NOT NULL CHECK (target < position),
    completed_at timestamptz
);
