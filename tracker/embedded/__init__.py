"""Services the tracker can run for itself on a developer's machine or in CI.

``tracker.embedded.postgres`` manages a project-local PostgreSQL server, so that
``make run`` and the test suite need no database installed or started beforehand.
"""
