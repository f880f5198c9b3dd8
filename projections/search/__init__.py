"""MLflow search for runs, experiments and logged models: the grammar and its SQL."""
