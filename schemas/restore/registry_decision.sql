-- After a restore switches in the restored registry read models, the
-- registry's write-side decision state is derived from them.  The version
-- counters (decision.model_version_numbers) are left as they are: like the
-- experiment-id sequence they only grow, so a version number once handed
-- out is never handed out again, restore or not.

TRUNCATE decision.model_version_tags, decision.registered_model_tags,
         decision.registered_model_aliases, decision.model_versions,
         decision.registered_models;

INSERT INTO decision.registered_models
SELECT model_key, name FROM registry_rm.registered_models;

INSERT INTO decision.model_versions
SELECT model_key, version, current_stage, storage_location, run_id, model_id
  FROM registry_rm.model_versions;

INSERT INTO decision.registered_model_aliases
SELECT model_key, alias, version FROM registry_rm.registered_model_aliases;

INSERT INTO decision.registered_model_tags
SELECT model_key, key FROM registry_rm.registered_model_tags;

INSERT INTO decision.model_version_tags
SELECT model_key, version, key FROM registry_rm.model_version_tags;
