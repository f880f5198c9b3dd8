"""The MLflow REST API: handlers that parse, call a command or a query, answer."""
