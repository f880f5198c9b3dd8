"""Reads over the tracking read models, answering in MLflow entities."""
