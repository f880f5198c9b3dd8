-- Write-side state of MLflow 3 logged models: enough to refuse writes to a
-- model that does not exist or was deleted, and to know its artifact root.

CREATE TABLE decision.logged_models (
    model_id          text   PRIMARY KEY,
    experiment_id     bigint NOT NULL REFERENCES decision.experiments,
    lifecycle_stage   text   NOT NULL,
    artifact_location text   NOT NULL
);

CREATE TABLE decision.logged_model_tags (
    model_id text NOT NULL,
    key      text NOT NULL,
    PRIMARY KEY (model_id, key)
);
