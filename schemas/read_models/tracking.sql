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
