"""The MLflow web UI: its static build, served unchanged, and the calls it makes.

The build is MLflow's own (Apache-2.0), taken from the released ``mlflow``
wheel at install time by ``python -m tracker.ui.fetch_build``; nothing of it
is committed.  The modules here serve its files and answer the requests the
UI sends that the REST API does not cover: GraphQL, dataset summaries, the
UI's artifact routes and the probes its pages make at load.
"""
