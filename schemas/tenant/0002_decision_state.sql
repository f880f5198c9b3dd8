-- Write-side decision state: the little a command must know to keep MLflow's
-- invariants (unique experiment names, immutable params, no writes to deleted
-- runs).  Commands update it in the same transaction as their append, under
-- row locks taken in a fixed order (experiment, then run, then es.head), so
-- the invariants hold under concurrency.  Like every read model it is a fold
-- of the log and can be rebuilt from it.

CREATE SCHEMA decision;

CREATE TABLE decision.experiments (
    experiment_id     bigint PRIMARY KEY,
    -- Unique across deleted experiments too, as MLflow's own store does.
    name              text   NOT NULL UNIQUE,
    lifecycle_stage   text   NOT NULL,
    artifact_location text   NOT NULL
);

CREATE TABLE decision.runs (
    run_id          text   PRIMARY KEY,
    experiment_id   bigint NOT NULL REFERENCES decision.experiments,
    lifecycle_stage text   NOT NULL,
    artifact_uri    text   NOT NULL
);

CREATE INDEX decision_runs_experiment ON decision.runs (experiment_id);

CREATE TABLE decision.params (
    run_id text NOT NULL,
    key    text NOT NULL,
    value  text NOT NULL,
    PRIMARY KEY (run_id, key)
);

-- Tag keys only: deleting a tag that is not there is RESOURCE_DOES_NOT_EXIST.
CREATE TABLE decision.experiment_tags (
    experiment_id bigint NOT NULL,
    key           text   NOT NULL,
    PRIMARY KEY (experiment_id, key)
);

CREATE TABLE decision.run_tags (
    run_id text NOT NULL,
    key    text NOT NULL,
    PRIMARY KEY (run_id, key)
);
