-- Write-side state of the model registry: what a command must know to keep
-- MLflow's invariants (names unique per tenant, versions numbered 1, 2, 3
-- per model and never reused, aliases naming live versions).  Like the rest
-- of decision state it is a fold of the log.
--
-- Lock order: every registry command first locks its model's row here, so
-- the commands of one model run one at a time, then the model's version
-- counter, the row of a logged model it links (decision.logged_models),
-- then es.head inside es.append.

CREATE TABLE decision.registered_models (
    -- Drawn at creation and kept through renames: the model's stream is
    -- 'registered-model-' || model_key.
    model_key text PRIMARY KEY,
    name      text NOT NULL UNIQUE
);

-- The last version number each model handed out.  Like es.experiment_ids it
-- is never reset, not by deleting a version or the model and not by a
-- restore (whose derivation of decision state must leave this table be), so
-- a number once handed out is never handed out again.  It is the fold of
-- every ModelVersionCreated in the log, superseded history included.
CREATE TABLE decision.model_version_numbers (
    model_key   text   PRIMARY KEY,
    last_issued bigint NOT NULL CHECK (last_issued >= 1)
);

CREATE TABLE decision.model_versions (
    model_key        text   NOT NULL
                     REFERENCES decision.registered_models ON DELETE CASCADE,
    version          bigint NOT NULL,
    stage            text   NOT NULL,
    -- What get-download-uri answers, and what a models:/name/version source
    -- of a later version resolves to.
    storage_location text   NOT NULL,
    run_id           text,
    model_id         text,
    PRIMARY KEY (model_key, version)
);

CREATE INDEX decision_model_versions_by_logged_model
    ON decision.model_versions (model_id) WHERE model_id IS NOT NULL;

CREATE TABLE decision.registered_model_aliases (
    model_key text   NOT NULL
              REFERENCES decision.registered_models ON DELETE CASCADE,
    alias     text   NOT NULL,
    version   bigint NOT NULL,
    PRIMARY KEY (model_key, alias),
    FOREIGN KEY (model_key, version)
        REFERENCES decision.model_versions ON DELETE CASCADE
);

-- Tag keys only: deleting a tag that is not there appends nothing.
CREATE TABLE decision.registered_model_tags (
    model_key text NOT NULL
              REFERENCES decision.registered_models ON DELETE CASCADE,
    key       text NOT NULL,
    PRIMARY KEY (model_key, key)
);

CREATE TABLE decision.model_version_tags (
    model_key text   NOT NULL,
    version   bigint NOT NULL,
    key       text   NOT NULL,
    PRIMARY KEY (model_key, version, key),
    FOREIGN KEY (model_key, version)
        REFERENCES decision.model_versions ON DELETE CASCADE
);
