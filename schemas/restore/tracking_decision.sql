-- After a restore switches in the restored tracking read models, the
-- write-side decision state is derived from them, so that commands judge
-- new requests against the restored state.  Run in the switching
-- transaction, after the rename.

TRUNCATE decision.params, decision.run_tags, decision.experiment_tags,
         decision.logged_model_tags, decision.logged_models, decision.runs,
         decision.experiments;

INSERT INTO decision.experiments
SELECT experiment_id, name, lifecycle_stage, artifact_location FROM rm.experiments;

INSERT INTO decision.runs
SELECT run_id, experiment_id, lifecycle_stage, artifact_uri FROM rm.runs;

INSERT INTO decision.params SELECT run_id, key, value FROM rm.params;

INSERT INTO decision.run_tags SELECT run_id, key FROM rm.tags;

INSERT INTO decision.experiment_tags SELECT experiment_id, key FROM rm.experiment_tags;

INSERT INTO decision.logged_models
SELECT model_id, experiment_id, lifecycle_stage, artifact_location FROM rm.logged_models;

INSERT INTO decision.logged_model_tags SELECT model_id, key FROM rm.logged_model_tags;
