"""Two tenants with look-alike data: nothing of one reaches the other.

Tenants "A" and "B" each hold an experiment of the same name, runs with
params, metrics and an artifact, a logged model and registered models; B
also holds things A has no twin of.  Every route the server has is then
asked, with A's admin credentials, about B's ids, and about ids that never
existed; the two answers must be alike (same status, same error once the
ids are masked), and no answer to A may hold any mark of B.  Afterwards B's
data is as it was.

Each tenant has its own database and bucket, so this holds by construction;
these tests guard the construction.
"""

import re
import uuid
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
import requests
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from tests.support.auth import bearer, call, issue_token, provisioned_tenant
from tests.support.routes import concrete, served_routes
from tests.support.server import free_port, running_server
from tracker.auth.roles import Role
from tracker.config import AuthSettings, S3Settings, Settings

PREFIX = "/mlflow"
# B makes this many experiments first, so its ids are ones A never reaches,
# even counting the experiments the sweep makes in A.
B_FILLER_EXPERIMENTS = 30


# What must match between two answers: the status, and the masked error.
Outcome = tuple[int, object]
# Per (method, route): the answer about B's ids, about unknown ids, and the
# masked text of the first.
Sweep = dict[tuple[str, str], tuple[Outcome, Outcome, str]]


class Ids(msgspec.Struct, frozen=True, kw_only=True):
    """The identifiers a request can name, with the mask each is shown as."""

    experiment_id: str
    experiment_name: str
    run_id: str
    model_id: str
    registered_name: str
    artifact_path: str
    token_id: str

    def masks(self) -> list[tuple[str, str]]:
        """(value, mask) pairs, longest value first so none masks a part."""
        pairs = [
            (self.artifact_path, "<artifact>"),
            (self.experiment_name, "<experiment-name>"),
            (self.registered_name, "<registered-name>"),
            (self.model_id, "<model>"),
            (self.run_id, "<run>"),
            (self.token_id, "<token>"),
        ]
        return sorted(pairs, key=lambda pair: -len(pair[0]))


class Tenant(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    token: str
    mark: str
    ids: Ids
    look_alike_experiment_id: str
    look_alike_run_id: str


def _client(uri: str, token: str) -> Iterator[MlflowClient]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_TOKEN", token)
        yield MlflowClient(uri)


def _populate(uri: str, cluster_url: str, name: str, fillers: int) -> Tenant:
    admin = issue_token(cluster_url, name, f"admin-of-{name}", Role.ADMIN)
    mark = f"secret-of-{name}"
    owner = {"owner": mark}

    for client in _client(uri, admin.token):
        for index in range(fillers):
            client.create_experiment(f"filler-{index}")
        look_alike = client.create_experiment("look-alike", tags=owner)
        look_alike_run = client.create_run(look_alike, tags=owner).info.run_id
        client.log_param(look_alike_run, "owner", mark)

        only_name = f"experiment-only-in-{name}"
        only = client.create_experiment(only_name, tags=owner)
        run = client.create_run(only, run_name=f"run-{mark}", tags=owner).info
        client.log_param(run.run_id, "secret", mark)
        client.log_metric(run.run_id, "loss", 0.5)
        client.log_text(run.run_id, mark, "secret.txt")
        model = client.create_logged_model(
            only, name=f"model-{mark}", source_run_id=run.run_id, tags=owner
        )

        client.create_registered_model("look-alike-model", tags=owner)
        registered = f"registered-only-in-{name}"
        client.create_registered_model(registered, tags=owner)
        client.create_model_version(
            registered, f"runs:/{run.run_id}/model", run_id=run.run_id, tags=owner
        )
        client.set_registered_model_alias(registered, "champion", "1")

    return Tenant(
        name=name,
        token=admin.token,
        mark=mark,
        ids=Ids(
            experiment_id=only,
            experiment_name=only_name,
            run_id=run.run_id,
            model_id=model.model_id,
            registered_name=registered,
            artifact_path=f"{only}/{run.run_id}/artifacts/secret.txt",
            token_id=admin.token_id,
        ),
        look_alike_experiment_id=look_alike,
        look_alike_run_id=look_alike_run,
    )


def _never_existing() -> Ids:
    run_id = uuid.uuid4().hex
    return Ids(
        experiment_id="987654321",
        experiment_name=f"experiment-never-{uuid.uuid4().hex}",
        run_id=run_id,
        model_id=f"m-{uuid.uuid4().hex}",
        registered_name=f"registered-never-{uuid.uuid4().hex}",
        artifact_path=f"987654321/{run_id}/artifacts/secret.txt",
        token_id=uuid.uuid4().hex[:16],
    )


@pytest.fixture(scope="module")
def server(cluster_url: str, s3_settings: S3Settings) -> Iterator[str]:
    settings = Settings(
        database_url=cluster_url,
        port=free_port(),
        default_tenant=provisioned_tenant(cluster_url, "iso-home"),
        s3=s3_settings,
        auth=AuthSettings(),
    )
    with running_server(settings) as uri:
        yield uri


@pytest.fixture(scope="module")
def tenants(server: str, cluster_url: str) -> tuple[Tenant, Tenant]:
    a = _populate(server, cluster_url, provisioned_tenant(cluster_url, "iso-a"), 0)
    b = _populate(
        server,
        cluster_url,
        provisioned_tenant(cluster_url, "iso-b"),
        B_FILLER_EXPERIMENTS,
    )
    return a, b


def _fields(ids: Ids, other_tenant: str, nonce: str) -> dict[str, Any]:
    """Every field any route reads, naming ``ids``; unknown fields are ignored.

    ``tenant`` is sent too, naming B: a client-supplied tenant must count
    for nothing.
    """
    return {
        "tenant": other_tenant,
        "experiment_id": ids.experiment_id,
        "experiment_ids": [ids.experiment_id],
        "experiment_name": ids.experiment_name,
        "run_id": ids.run_id,
        "run_uuid": ids.run_id,
        "run_ids": [ids.run_id],
        "source_run_id": ids.run_id,
        "model_id": ids.model_id,
        "name": ids.registered_name,
        "version": "1",
        "alias": "champion",
        "source": f"runs:/{ids.run_id}/model",
        "new_name": f"renamed-{nonce}",
        "key": "owner",
        # Numeric, so it also serves where a metric's value is read.
        "value": "1.5",
        "timestamp": 1,
        "model_json": "{}",
        "metric_key": "loss",
        "path": "secret.txt",
        "stage": "Staging",
        "token_id": ids.token_id,
        "user": "probe",
        "role": "viewer",
        "upload_id": "upload",
        "num_parts": 1,
    }


# Routes that make something new by name: a fresh name each call, so the
# probe makes nothing that a later probe could find.
_MAKES_BY_NAME = frozenset(
    {
        "experiments/create",
        "registered-models/create",
        "logged-models",
    }
)


def _ask(
    server: str, method: str, template: str, ids: Ids, tenant: Tenant, other: str
) -> tuple[requests.Response, str]:
    nonce = uuid.uuid4().hex
    fields = _fields(ids, other, nonce)
    if template.endswith(tuple(_MAKES_BY_NAME)):
        fields["name"] = f"made-{nonce}"
    path = concrete(
        template,
        {"model_id": ids.model_id, "tag_key": "owner", "path": ids.artifact_path},
    ).removeprefix(PREFIX)
    headers = {**bearer(tenant.token), "X-Calabi-Tenant": other}

    # The fields go in the query string as well: some routes (the web UI's
    # upload) read them there beside a body of bytes.
    if method == "GET":
        answer = call(server, method, path, headers=headers, params=fields)
    elif method == "PUT":
        answer = call(
            server, method, path, headers=headers, params=fields, data=b"overwritten"
        )
    else:
        answer = call(server, method, path, headers=headers, params=fields, json=fields)

    return answer, nonce


def _masked(answer: requests.Response, ids: Ids, nonce: str) -> str:
    text = answer.text.replace(nonce, "<nonce>")
    for value, mask in ids.masks():
        text = text.replace(value, mask)
    return re.sub(rf"\b{re.escape(ids.experiment_id)}\b", "<experiment>", text)


def _outcome(answer: requests.Response, masked: str) -> Outcome:
    """What must match between the two answers: status, and any error."""
    if answer.status_code < 400:
        return answer.status_code, None
    try:
        body = msgspec.json.decode(masked)
    except msgspec.DecodeError:
        return answer.status_code, masked
    return answer.status_code, body


@pytest.fixture(scope="module")
def sweep(server: str, tenants: tuple[Tenant, Tenant]) -> Sweep:
    """Each route asked by A about B's ids and about unknown ids."""
    a, b = tenants
    answers: Sweep = {}
    for method, template in served_routes():
        about_b, b_nonce = _ask(server, method, template, b.ids, a, b.name)
        unknown = _never_existing()
        about_nothing, nothing_nonce = _ask(
            server, method, template, unknown, a, b.name
        )
        masked_b = _masked(about_b, b.ids, b_nonce)
        answers[method, template] = (
            _outcome(about_b, masked_b),
            _outcome(about_nothing, _masked(about_nothing, unknown, nothing_nonce)),
            masked_b,
        )
    return answers


def _marks_of(b: Tenant) -> list[str]:
    return [b.mark, b.name, b.look_alike_run_id]


@pytest.mark.parametrize(("method", "template"), served_routes())
def test_every_route_answers_about_the_other_tenant_as_about_nothing(
    sweep: Sweep,
    method: str,
    template: str,
) -> None:
    about_b, about_nothing, _ = sweep[method, template]

    assert about_b == about_nothing


@pytest.mark.parametrize(("method", "template"), served_routes())
def test_no_answer_to_one_tenant_holds_a_mark_of_the_other(
    sweep: Sweep,
    tenants: tuple[Tenant, Tenant],
    method: str,
    template: str,
) -> None:
    _, b = tenants
    _, _, masked = sweep[method, template]

    for mark in _marks_of(b):
        assert mark not in masked


def test_the_sweep_left_the_other_tenant_as_it_was(
    sweep: object, server: str, tenants: tuple[Tenant, Tenant]
) -> None:
    _, b = tenants

    for client in _client(server, b.token):
        run = client.get_run(b.ids.run_id)
        assert run.info.lifecycle_stage == "active"
        assert run.data.params == {"secret": b.mark}
        assert run.data.tags["owner"] == b.mark
        assert run.data.metrics == {"loss": 0.5}
        assert client.get_experiment(b.ids.experiment_id).lifecycle_stage == "active"
        assert client.get_experiment(b.ids.experiment_id).name == (
            b.ids.experiment_name
        )
        text = client.download_artifacts(b.ids.run_id, "secret.txt")
        with open(text) as artifact:
            assert artifact.read() == b.mark
        assert client.get_logged_model(b.ids.model_id).tags["owner"] == b.mark
        registered = client.get_registered_model(b.ids.registered_name)
        assert registered.tags == {"owner": b.mark}
        assert registered.aliases == {"champion": "1"}
        assert client.get_model_version(b.ids.registered_name, "1").tags == {
            "owner": b.mark
        }
    answer = call(
        server,
        "GET",
        "/api/2.0/mlflow/experiments/search",
        headers=bearer(b.token),
    )
    assert answer.status_code == 200, "B's admin token was revoked by A"


def test_a_look_alike_name_finds_the_callers_own_experiment(
    server: str, tenants: tuple[Tenant, Tenant]
) -> None:
    a, _ = tenants

    for client in _client(server, a.token):
        found = client.get_experiment_by_name("look-alike")

    assert found is not None
    assert found.experiment_id == a.look_alike_experiment_id
    assert found.tags["owner"] == a.mark


def test_a_run_id_copied_from_the_other_tenant_is_not_found_like_a_made_up_one(
    server: str, tenants: tuple[Tenant, Tenant]
) -> None:
    a, b = tenants
    made_up = uuid.uuid4().hex

    for client in _client(server, a.token):
        with pytest.raises(MlflowException) as copied:
            client.get_run(b.ids.run_id)
        with pytest.raises(MlflowException) as invented:
            client.get_run(made_up)

    assert copied.value.error_code == invented.value.error_code
    assert copied.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert copied.value.message.replace(b.ids.run_id, "<run>") == (
        invented.value.message.replace(made_up, "<run>")
    )


def test_a_presigned_url_for_the_other_tenants_artifact_is_refused(
    server: str, tenants: tuple[Tenant, Tenant]
) -> None:
    a, b = tenants

    answer = call(
        server,
        "POST",
        "/api/2.0/mlflow/artifacts/presigned-download-url",
        headers=bearer(a.token),
        json={"run_id": b.ids.run_id, "path": "secret.txt"},
    )

    assert answer.status_code == 404
    assert b.name not in answer.text


def test_searches_return_only_the_callers_own_rows(
    server: str, tenants: tuple[Tenant, Tenant]
) -> None:
    a, b = tenants

    for client in _client(server, a.token):
        experiments = client.search_experiments(view_type=ViewType.ALL)
        experiment_ids = [experiment.experiment_id for experiment in experiments]
        runs = client.search_runs(
            [*experiment_ids, b.ids.experiment_id], run_view_type=ViewType.ALL
        )
        models = client.search_logged_models(experiment_ids)
        registered = client.search_registered_models()
        versions = client.search_model_versions()
    seen = repr((experiments, runs, models, registered, versions))

    assert a.mark in seen
    for mark in _marks_of(b):
        assert mark not in seen
    assert b.ids.run_id not in seen
    assert b.ids.model_id not in seen
