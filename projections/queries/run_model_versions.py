"""The registered model versions made from one run, for the UI's run page."""

from projections.queries.registry import model_versions_by_key
from projections.registry_views import ModelVersion
from tracker.db import Connection


async def model_versions_of_run(
    connection: Connection, run_id: str
) -> list[ModelVersion]:
    """Every version whose source is ``run_id``, oldest first."""
    keys = await connection.fetch(
        "SELECT model_key, version FROM registry_rm.model_versions"
        " WHERE run_id = $1 ORDER BY creation_time, model_key, version",
        run_id,
    )

    return await model_versions_by_key(
        connection, [(key, number) for key, number in keys]
    )
