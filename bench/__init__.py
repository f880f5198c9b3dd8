"""``make bench``: Calabi side by side with stock MLflow and FastTrackML.

Every server gets its own database on one PostgreSQL cluster, is driven by
the same workload through the stock ``mlflow`` client over HTTP, and is
watched through /proc for memory and CPU. ``python -m bench --help`` lists
the sizes.
"""
