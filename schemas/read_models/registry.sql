-- Read models of the registry projector, folded from the registry's events.
--
-- Not a migration: the projector owns its schema (registry_rm, or a fresh
-- generation during a rebuild or restore) and runs this file with that
-- schema first on the search path, so names here are unqualified.  Rows are
-- keyed by the model's stable key, so a rename touches one row; a deleted
-- model or version leaves no rows behind, as in MLflow.

CREATE TABLE registered_models (
    model_key        text   PRIMARY KEY,
    -- Unique in decision state.  Only indexed here: no order in which a
    -- batch writes its rows may stop the projector on a duplicate.
    name             text   NOT NULL,
    description      text,
    creation_time    bigint NOT NULL,
    last_update_time bigint NOT NULL
);

CREATE INDEX registered_models_by_name ON registered_models (name);

CREATE TABLE registered_model_tags (
    model_key text NOT NULL,
    key       text NOT NULL,
    value     text NOT NULL,
    PRIMARY KEY (model_key, key)
);

CREATE TABLE registered_model_aliases (
    model_key text   NOT NULL,
    alias     text   NOT NULL,
    version   bigint NOT NULL,
    PRIMARY KEY (model_key, alias)
);

CREATE INDEX registered_model_aliases_by_version
    ON registered_model_aliases (model_key, version);

CREATE TABLE model_versions (
    model_key        text   NOT NULL,
    version          bigint NOT NULL,
    creation_time    bigint NOT NULL,
    last_update_time bigint NOT NULL,
    current_stage    text   NOT NULL,
    description      text   NOT NULL,
    source           text   NOT NULL,
    storage_location text   NOT NULL,
    run_id           text,
    run_link         text   NOT NULL,
    model_id         text,
    status           text   NOT NULL,
    PRIMARY KEY (model_key, version)
);

CREATE INDEX model_versions_by_run ON model_versions (run_id);

CREATE TABLE model_version_tags (
    model_key text   NOT NULL,
    version   bigint NOT NULL,
    key       text   NOT NULL,
    value     text   NOT NULL,
    PRIMARY KEY (model_key, version, key)
);
