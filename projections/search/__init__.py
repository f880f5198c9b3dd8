"""MLflow search for runs and experiments: the grammar and its SQL."""
