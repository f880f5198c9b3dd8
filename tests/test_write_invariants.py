"""MLflow's write-side invariants hold under concurrency, not just in sequence."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from mlflow.entities import Metric, Param
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

CLIENTS = 12


def _attempt(call: object) -> str:
    try:
        call()  # type: ignore[operator]
    except MlflowException as error:
        return str(error.error_code)
    return "OK"


def test_concurrent_creates_of_one_name_make_exactly_one_experiment(
    client: MlflowClient, unique: str
) -> None:
    name = f"race-{unique}"

    with ThreadPoolExecutor(CLIENTS) as pool:
        outcomes = list(
            pool.map(
                lambda _: _attempt(lambda: client.create_experiment(name)),
                range(CLIENTS),
            )
        )

    assert outcomes.count("OK") == 1
    assert outcomes.count("RESOURCE_ALREADY_EXISTS") == CLIENTS - 1


def test_concurrent_different_values_of_one_param_keep_exactly_one(
    client: MlflowClient, unique: str
) -> None:
    run = client.create_run(client.create_experiment(f"params-{unique}"))
    run_id = run.info.run_id

    with ThreadPoolExecutor(CLIENTS) as pool:
        outcomes = list(
            pool.map(
                lambda value: _attempt(lambda: client.log_param(run_id, "lr", value)),
                range(CLIENTS),
            )
        )

    assert outcomes.count("OK") == 1
    assert outcomes.count("INVALID_PARAMETER_VALUE") == CLIENTS - 1
    assert len(client.get_run(run_id).data.params) == 1


def test_many_clients_logging_to_one_run_lose_nothing(
    client: MlflowClient, unique: str
) -> None:
    run_id = client.create_run(client.create_experiment(f"many-{unique}")).info.run_id
    batches_per_client, points_per_batch = 10, 100

    def log(worker: int) -> None:
        for batch in range(batches_per_client):
            metrics = [
                Metric("loss", float(step), 1_000 + step, worker * 10_000 + step)
                for step in range(
                    batch * points_per_batch, (batch + 1) * points_per_batch
                )
            ]
            client.log_batch(
                run_id, metrics=metrics, params=[Param(f"p{worker}-{batch}", "v")]
            )

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(log, range(CLIENTS)))

    history = client.get_metric_history(run_id, "loss")
    params = client.get_run(run_id).data.params

    assert len(history) == CLIENTS * batches_per_client * points_per_batch
    assert len(params) == CLIENTS * batches_per_client


def test_no_write_lands_on_a_run_after_its_experiment_is_deleted(
    client: MlflowClient, unique: str
) -> None:
    experiment_id = client.create_experiment(f"doomed-{unique}")
    run_id = client.create_run(experiment_id).info.run_id

    def log(step: int) -> str:
        return _attempt(lambda: client.log_metric(run_id, "m", 1.0, step=step))

    with ThreadPoolExecutor(CLIENTS) as pool:
        logged = pool.map(log, range(200))
        client.delete_experiment(experiment_id)
        outcomes = list(logged)

    accepted = outcomes.count("OK")
    assert set(outcomes) <= {"OK", "INVALID_PARAMETER_VALUE"}
    assert len(client.get_metric_history(run_id, "m")) == accepted
    with pytest.raises(MlflowException, match="must be in the 'active' state"):
        client.log_metric(run_id, "m", 2.0)
