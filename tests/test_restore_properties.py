"""Property: restoring to any point makes every API read what it was then.

Random sequences of client operations run through the HTTP API; at random
points the test records what every read returned, then restores to those
points (nested, and undone again) and compares.
"""

import tempfile
from contextlib import suppress
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from tests.support.restoring import Tenant, tenant_server
from tests.support.snapshots import api_snapshot
from tracker.config import S3Settings

OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "create_experiment",
                "rename_experiment",
                "delete_experiment",
                "restore_experiment",
                "create_run",
                "log_metric",
                "log_param",
                "set_tag",
                "delete_tag",
                "delete_run",
                "restore_run",
                "log_artifact",
            ]
        ),
        st.integers(0, 3),
        st.integers(0, 2),
    ),
    min_size=3,
    max_size=12,
)


class World:
    """Drives one tenant; ids are picked by index so any sequence is valid."""

    def __init__(self, client: MlflowClient) -> None:
        self.client = client
        self.experiments = ["0"]
        self.runs: list[str] = []

    def apply(self, operation: str, pick: int, value: int) -> None:
        experiment = self.experiments[pick % len(self.experiments)]
        run = self.runs[pick % len(self.runs)] if self.runs else None
        # Refusals (a deleted run, a changed param, ...) are part of life.
        with suppress(MlflowException):
            self._apply(operation, experiment, run, pick, value)

    def _apply(
        self, operation: str, experiment: str, run: str | None, pick: int, value: int
    ) -> None:
        client = self.client
        if operation == "create_experiment":
            self.experiments.append(
                client.create_experiment(f"e{len(self.experiments)}-{value}")
            )
        elif operation == "rename_experiment":
            client.rename_experiment(experiment, f"renamed-{experiment}-{value}")
        elif operation == "delete_experiment":
            client.delete_experiment(experiment)
        elif operation == "restore_experiment":
            client.restore_experiment(experiment)
        elif operation == "create_run":
            self.runs.append(client.create_run(experiment).info.run_id)
        elif run is None:
            return
        elif operation == "log_metric":
            client.log_metric(run, f"m{pick}", float(value), step=value)
        elif operation == "log_param":
            client.log_param(run, f"p{pick}", str(value))
        elif operation == "set_tag":
            client.set_tag(run, f"t{pick}", str(value))
        elif operation == "delete_tag":
            client.delete_tag(run, f"t{pick}")
        elif operation == "delete_run":
            client.delete_run(run)
        elif operation == "restore_run":
            client.restore_run(run)
        elif operation == "log_artifact":
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / f"a{pick}.txt"
                path.write_text(str(value) * (value + 1))
                client.log_artifact(run, str(path))


def _play(
    tenant: Tenant, operations: list[tuple[str, int, int]]
) -> list[tuple[int, dict]]:
    """Run the operations; return (position, snapshot) after each."""
    world = World(tenant.client)
    points = [(tenant.head(), api_snapshot(tenant.uri))]
    for operation in operations:
        world.apply(*operation)
        points.append((tenant.head(), api_snapshot(tenant.uri)))
    return points


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=OPERATIONS, data=st.data())
def test_restoring_to_a_random_point_reproduces_every_read(
    cluster_url: str,
    s3_settings: S3Settings,
    operations: list[tuple[str, int, int]],
    data: st.DataObject,
) -> None:
    with tenant_server(cluster_url, s3_settings) as tenant:
        points = _play(tenant, operations)
        latest = points[-1][1]

        first = data.draw(st.sampled_from(points[:-1]), label="first target")
        marker = tenant.restore_to(first[0])
        assert api_snapshot(tenant.uri) == first[1]

        # A nested restore, into what the first one superseded.
        later = data.draw(
            st.sampled_from([point for point in points if point[0] >= first[0]]),
            label="second target",
        )
        tenant.restore_to(later[0])
        assert api_snapshot(tenant.uri) == later[1]

        # Undoing the first restore brings back the latest state.
        tenant.restore_to(marker - 1)
        assert api_snapshot(tenant.uri) == latest
