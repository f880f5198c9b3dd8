"""Dataset summaries: which datasets an experiment's runs took as inputs."""

from projections.views import DatasetSummary
from tracker.db import Connection

# MLflow answers at most this many summaries, whatever the experiments hold.
MAX_DATASET_SUMMARIES = 1000


async def dataset_summaries(
    connection: Connection, experiment_ids: list[int]
) -> list[DatasetSummary]:
    """Each distinct dataset and input context used in these experiments.

    A dataset given to runs in two contexts ("training", "eval") is two
    summaries; one given without the ``mlflow.data.context`` tag has none.
    """
    rows = await connection.fetch(
        "SELECT DISTINCT experiment_id, dataset_name, dataset_digest, context"
        " FROM rm.run_inputs WHERE experiment_id = ANY($1::int8[])"
        " ORDER BY experiment_id, dataset_name, dataset_digest, context"
        " LIMIT $2",
        experiment_ids,
        MAX_DATASET_SUMMARIES,
    )

    return [
        DatasetSummary(
            experiment_id=str(experiment_id), name=name, digest=digest, context=context
        )
        for experiment_id, name, digest, context in rows
    ]
