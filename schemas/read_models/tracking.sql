-- Read models of the tracking projector, folded from es.events.
--
-- This file is not a migration: the projector owns its schema (rm, or a
-- fresh generation during a rebuild or restore) and runs this file with that
-- schema first on the search path, so names here are unqualified.  When the
-- text changes, the projector rebuilds from the log, so a read model never
-- lags its own definition.

CREATE TABLE experiments (
    experiment_id     bigint PRIMARY KEY,
    name              text   NOT NULL,
    artifact_location text   NOT NULL,
    lifecycle_stage   text   NOT NULL,
    creation_time     bigint NOT NULL,
    last_update_time  bigint NOT NULL
);

CREATE INDEX experiments_name ON experiments (name);

CREATE TABLE experiment_tags (
    experiment_id bigint NOT NULL,
    key           text   NOT NULL,
    value         text   NOT NULL,
    PRIMARY KEY (experiment_id, key)
);

CREATE TABLE runs (
    run_id          text   PRIMARY KEY,
    experiment_id   bigint NOT NULL,
    run_name        text   NOT NULL,
    user_id         text   NOT NULL,
    status          text   NOT NULL,
    start_time      bigint,
    end_time        bigint,
    artifact_uri    text   NOT NULL,
    lifecycle_stage text   NOT NULL
);

CREATE INDEX runs_by_experiment
    ON runs (experiment_id, start_time DESC NULLS LAST, run_id);

CREATE TABLE params (
    run_id text NOT NULL,
    key    text NOT NULL,
    value  text NOT NULL,
    PRIMARY KEY (run_id, key)
);

CREATE TABLE tags (
    run_id text NOT NULL,
    key    text NOT NULL,
    value  text NOT NULL,
    PRIMARY KEY (run_id, key)
);

-- A filter compares one key's values, and a key's values are far from spread
-- like the column's as a whole (a key such as `optimizer` has three values,
-- a seed a different one per run).  Without statistics over the pair, the
-- planner guesses a filter's selectivity wrongly by an order of magnitude
-- and picks a full scan where walking one index in order would stop early.
CREATE STATISTICS params_by_key (mcv, dependencies) ON key, value FROM params;
CREATE STATISTICS tags_by_key (mcv, dependencies) ON key, value FROM tags;

-- Each (run, key) pair is a series, and its points are stored under the
-- series' number: 8 bytes in the points' table and in both its indexes
-- instead of a 32-character run id and a key, which halves the cost of
-- projecting a point.  The number is the pair's rank of first appearance in
-- the log, so a rebuild from the log numbers every series the same.
CREATE TABLE latest_metrics (
    run_id        text             NOT NULL,
    key           text             NOT NULL,
    value         double precision NOT NULL,
    timestamp     bigint           NOT NULL,
    step          bigint           NOT NULL,
    series        bigint           NOT NULL UNIQUE,
    -- The run's experiment, which never changes: a search ordered by a metric
    -- walks the experiment's values of that key in order and stops once the
    -- page is full, instead of sorting every run.
    experiment_id bigint           NOT NULL,
    PRIMARY KEY (run_id, key)
);

CREATE INDEX latest_metrics_ranked ON latest_metrics (experiment_id, key, value);

-- The natural key dedupes exact repeats, as MLflow does for retried batches.
CREATE TABLE metrics (
    series    bigint           NOT NULL,
    timestamp bigint           NOT NULL,
    step      bigint           NOT NULL,
    value     double precision NOT NULL,
    PRIMARY KEY (series, timestamp, step, value)
);

-- The charts sample a metric by step (get-history-bulk-interval); in step
-- order the sample is read straight off this index, with no sort.
CREATE INDEX metrics_by_step ON metrics (series, step, timestamp, value);

-- A batch's metric points, stored in one call: the projector's fold pays one
-- round trip for them however many series they belong to.
--
-- The first three arrays name each series the batch touches, in the order
-- the batch first names it, with its latest point's value, timestamp and
-- step beside it.  The last four hold every point, each naming its series
-- by its place (from 1) in the first arrays.
--
-- A new series is numbered after every existing one, in that order; the
-- placeholder of a series that already exists is never stored, because its
-- row conflicts and only its latest point is moved.
--
-- The points go in with a plain INSERT: ON CONFLICT costs every row a
-- speculative insertion, a third more than the row itself.  Only a batch
-- that repeats a stored point (a retried log-batch) conflicts, and it is
-- inserted again keeping one of each, as MLflow does.
CREATE FUNCTION write_metrics(
    series_runs       text[],
    series_keys       text[],
    latest_values     float8[],
    latest_timestamps int8[],
    latest_steps      int8[],
    point_series      int4[],
    point_timestamps  int8[],
    point_steps       int8[],
    point_values      float8[]
) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    numbers int8[];
BEGIN
    WITH batch AS (
        SELECT * FROM unnest(
            series_runs, series_keys, latest_values, latest_timestamps,
            latest_steps
        ) WITH ORDINALITY AS b(run_id, key, value, timestamp, step, ord)
    ), fresh AS (
        SELECT b.ord, row_number() OVER (ORDER BY b.ord) AS rank
        FROM batch b
        WHERE NOT EXISTS (
            SELECT 1 FROM latest_metrics l
            WHERE l.run_id = b.run_id AND l.key = b.key
        )
    )
    INSERT INTO latest_metrics AS l
        (run_id, key, value, timestamp, step, series, experiment_id)
    SELECT b.run_id, b.key, b.value, b.timestamp, b.step,
           coalesce(
               f.rank + (SELECT coalesce(max(series), 0) FROM latest_metrics),
               -b.ord
           ),
           (SELECT r.experiment_id FROM runs r WHERE r.run_id = b.run_id)
    FROM batch b LEFT JOIN fresh f USING (ord)
    ORDER BY b.ord
    ON CONFLICT (run_id, key) DO UPDATE SET
        value = excluded.value,
        timestamp = excluded.timestamp,
        step = excluded.step
    WHERE (excluded.step, excluded.timestamp, excluded.value)
        > (l.step, l.timestamp, l.value);

    SELECT array_agg(l.series ORDER BY s.ord) INTO numbers
    FROM unnest(series_runs, series_keys) WITH ORDINALITY AS s(run_id, key, ord)
    JOIN latest_metrics l USING (run_id, key);

    BEGIN
        INSERT INTO metrics
        SELECT numbers[p.series], p.timestamp, p.step, p.value
        FROM unnest(point_series, point_timestamps, point_steps, point_values)
            AS p(series, timestamp, step, value);
    EXCEPTION WHEN unique_violation THEN
        INSERT INTO metrics
        SELECT numbers[p.series], p.timestamp, p.step, p.value
        FROM unnest(point_series, point_timestamps, point_steps, point_values)
            AS p(series, timestamp, step, value)
        ON CONFLICT DO NOTHING;
    END;
END
$$;

CREATE TABLE datasets (
    experiment_id bigint NOT NULL,
    name          text   NOT NULL,
    digest        text   NOT NULL,
    source_type   text   NOT NULL,
    source        text   NOT NULL,
    schema        text,
    profile       text,
    PRIMARY KEY (experiment_id, name, digest)
);

CREATE TABLE run_inputs (
    run_id         text   NOT NULL,
    dataset_name   text   NOT NULL,
    dataset_digest text   NOT NULL,
    experiment_id  bigint NOT NULL,
    -- The mlflow.data.context input tag, kept apart for search.
    context        text,
    tags           jsonb  NOT NULL,
    logged_at      bigint NOT NULL,
    PRIMARY KEY (run_id, dataset_name, dataset_digest)
);

CREATE TABLE run_outputs (
    run_id   text   NOT NULL,
    model_id text   NOT NULL,
    step     bigint NOT NULL,
    PRIMARY KEY (run_id, model_id)
);

-- What each artifact root holds, as the log says: listings read this, so
-- they agree with the log and can be restored with it.
CREATE TABLE artifacts (
    root       text   NOT NULL,
    path       text   NOT NULL,
    size       bigint NOT NULL,
    etag       text   NOT NULL,
    version_id text,
    stored_at  bigint NOT NULL,
    PRIMARY KEY (root, path)
);

CREATE INDEX artifacts_by_prefix ON artifacts (root, path text_pattern_ops);

CREATE TABLE logged_models (
    model_id          text   PRIMARY KEY,
    experiment_id     bigint NOT NULL,
    name              text   NOT NULL,
    artifact_location text   NOT NULL,
    creation_time     bigint NOT NULL,
    last_update_time  bigint NOT NULL,
    status            text   NOT NULL,
    model_type        text,
    source_run_id     text,
    lifecycle_stage   text   NOT NULL
);

CREATE INDEX logged_models_by_experiment
    ON logged_models (experiment_id, creation_time DESC);

CREATE TABLE logged_model_params (
    model_id text NOT NULL,
    key      text NOT NULL,
    value    text NOT NULL,
    PRIMARY KEY (model_id, key)
);

CREATE TABLE logged_model_tags (
    model_id text NOT NULL,
    key      text NOT NULL,
    value    text NOT NULL,
    PRIMARY KEY (model_id, key)
);

-- Metrics logged with a model_id, as MLflow 3 attaches them to the model.
CREATE TABLE logged_model_metrics (
    model_id       text             NOT NULL,
    run_id         text             NOT NULL,
    key            text             NOT NULL,
    value          double precision NOT NULL,
    timestamp      bigint           NOT NULL,
    step           bigint           NOT NULL,
    dataset_name   text,
    dataset_digest text,
    PRIMARY KEY (model_id, run_id, key, step, timestamp)
);
