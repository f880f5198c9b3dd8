-- A large event payload arrives compressed already (tracker/eventlog/codec.py
-- compresses it with zstd), so PostgreSQL stores it as given rather than
-- spend pglz's time on it again for nothing.  Payloads stored before this
-- migration keep the form they were stored in; both read back alike.
ALTER TABLE es.events ALTER COLUMN data SET STORAGE EXTERNAL;
