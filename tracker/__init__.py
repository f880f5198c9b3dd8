"""Calabi ML's MLflow-compatible tracking server."""
