"""Projectors that fold the event log into read models, and the queries over them."""
