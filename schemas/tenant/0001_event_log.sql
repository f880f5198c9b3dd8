-- The tenant's event log: the source of truth for everything the tenant tracks.
--
-- Invariant: within a tenant, positions are gapless and equal commit order.
-- Every append goes through es.append(), which takes the single es.head row
-- lock as its last step and holds it until commit.  The next writer can only
-- draw positions after the previous holder committed (or rolled back, which
-- also rolls back its head update), so a projector reading
-- "position > checkpoint" can never skip an event that commits later.

CREATE SCHEMA es;

CREATE TABLE es.head (
    id               smallint    PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    last_position    bigint      NOT NULL DEFAULT 0,
    last_recorded_at timestamptz NOT NULL DEFAULT '-infinity',
    last_hash        bytea       NOT NULL DEFAULT '\x'::bytea,
    writes_frozen    boolean     NOT NULL DEFAULT false
) WITH (fillfactor = 10);

INSERT INTO es.head DEFAULT VALUES;

CREATE TABLE es.streams (
    stream_id   text    PRIMARY KEY,
    stream_type text    NOT NULL,
    version     integer NOT NULL
);

CREATE TABLE es.events (
    position       bigint      PRIMARY KEY,
    stream_id      text        NOT NULL,
    stream_version integer     NOT NULL,
    event_type     text        NOT NULL,
    schema_version smallint    NOT NULL,
    data           bytea       NOT NULL,
    meta           jsonb       NOT NULL,
    recorded_at    timestamptz NOT NULL,
    hash           bytea       NOT NULL,
    UNIQUE (stream_id, stream_version)
);

CREATE INDEX events_recorded_at ON es.events USING brin (recorded_at);

-- The log is append-only, enforced by the database itself.
CREATE FUNCTION es.refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'es.events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER events_append_only
    BEFORE UPDATE OR DELETE ON es.events
    FOR EACH ROW EXECUTE FUNCTION es.refuse_change();

CREATE TRIGGER events_no_truncate
    BEFORE TRUNCATE ON es.events
    FOR EACH STATEMENT EXECUTE FUNCTION es.refuse_change();

-- The chained hash covers every stored column, so an edit or a removal
-- anywhere in the log changes every later hash.
CREATE FUNCTION es.event_hash(
    p_previous       bytea,
    p_position       bigint,
    p_stream_id      text,
    p_stream_version integer,
    p_event_type     text,
    p_schema_version smallint,
    p_data           bytea,
    p_meta           jsonb,
    p_recorded_at    timestamptz
) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT sha256(
        p_previous
        || int8send(p_position)
        || convert_to(p_stream_id, 'UTF8')
        || int4send(p_stream_version)
        || convert_to(p_event_type, 'UTF8')
        || int2send(p_schema_version)
        || p_data
        || convert_to(p_meta::text, 'UTF8')
        || int8send((extract(epoch FROM p_recorded_at) * 1000000)::bigint)
    )
$$;

-- Append events to one stream.  expected_version NULL means any version,
-- 0 means the stream must not exist yet.  Returns the last position written.
CREATE FUNCTION es.append(
    p_stream_id        text,
    p_stream_type      text,
    p_expected_version integer,
    p_event_types      text[],
    p_schema_versions  smallint[],
    p_data             bytea[],
    p_meta             jsonb
) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n         integer := cardinality(p_event_types);
    at_version   integer;
    head_row  es.head%ROWTYPE;
    pos       bigint;
    chain     bytea;
    stamp     timestamptz;
BEGIN
    SELECT s.version INTO at_version
      FROM es.streams s WHERE s.stream_id = p_stream_id FOR UPDATE;
    IF NOT FOUND THEN
        IF p_expected_version IS NOT NULL AND p_expected_version <> 0 THEN
            RAISE EXCEPTION 'stream % does not exist, expected version %',
                p_stream_id, p_expected_version USING ERRCODE = 'CA001';
        END IF;
        INSERT INTO es.streams VALUES (p_stream_id, p_stream_type, 0);
        at_version := 0;
    ELSIF p_expected_version IS NOT NULL AND at_version <> p_expected_version THEN
        RAISE EXCEPTION 'stream % is at version %, expected %',
            p_stream_id, at_version, p_expected_version USING ERRCODE = 'CA001';
    END IF;

    -- The tenant-wide serialisation point, taken last to hold it briefly.
    SELECT * INTO head_row FROM es.head WHERE id = 1 FOR UPDATE;
    IF head_row.writes_frozen THEN
        RAISE EXCEPTION 'writes are frozen for this tenant'
            USING ERRCODE = 'CA002';
    END IF;

    pos := head_row.last_position;
    chain := head_row.last_hash;
    stamp := greatest(clock_timestamp(), head_row.last_recorded_at);
    FOR i IN 1 .. n LOOP
        pos := pos + 1;
        chain := es.event_hash(
            chain, pos, p_stream_id, at_version + i, p_event_types[i],
            p_schema_versions[i], p_data[i], p_meta, stamp
        );
        INSERT INTO es.events VALUES (
            pos, p_stream_id, at_version + i, p_event_types[i],
            p_schema_versions[i], p_data[i], p_meta, stamp, chain
        );
    END LOOP;

    UPDATE es.head
       SET last_position = pos, last_recorded_at = stamp, last_hash = chain
     WHERE id = 1;
    UPDATE es.streams SET version = at_version + n WHERE stream_id = p_stream_id;

    RETURN pos;
END
$$;

-- One row per projector: how far it has folded the log.  The projector locks
-- its row for the length of a batch, so two projector processes never apply
-- the same events, and moves it in the same transaction as its writes.
CREATE TABLE es.checkpoints (
    projector  text        PRIMARY KEY,
    position   bigint      NOT NULL DEFAULT 0,
    -- Digest of the read models' definition the position refers to.
    definition text        NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Experiment ids come from a sequence that nothing ever resets (a restore
-- included), so an id once handed out is never handed out again.
CREATE SEQUENCE es.experiment_ids START 1;
