"""Experiments through the stock MlflowClient, over real HTTP."""

import time

import pytest
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient


def test_create_experiment_keeps_tags_and_artifact_location(
    client: MlflowClient, unique: str
) -> None:
    experiment_id = client.create_experiment(
        f"tagged-{unique}",
        artifact_location="s3://bucket/tagged",
        tags={"team": "vision", "stage": "dev"},
    )

    experiment = client.get_experiment(experiment_id)

    assert experiment.name == f"tagged-{unique}"
    assert experiment.artifact_location == "s3://bucket/tagged"
    assert experiment.tags == {"team": "vision", "stage": "dev"}
    assert experiment.lifecycle_stage == "active"
    assert experiment.creation_time is not None
    assert experiment.creation_time > 0
    assert experiment.last_update_time is not None
    assert experiment.last_update_time >= experiment.creation_time


def test_create_experiment_without_location_gets_a_proxied_artifact_root(
    client: MlflowClient, unique: str
) -> None:
    experiment_id = client.create_experiment(f"plain-{unique}")

    experiment = client.get_experiment(experiment_id)

    assert experiment.artifact_location == f"mlflow-artifacts:/{experiment_id}"


def test_get_experiment_by_name_finds_the_experiment(
    client: MlflowClient, unique: str
) -> None:
    experiment_id = client.create_experiment(f"named-{unique}")

    experiment = client.get_experiment_by_name(f"named-{unique}")

    assert experiment is not None
    assert experiment.experiment_id == experiment_id


def test_get_experiment_by_name_of_a_missing_name_is_none(
    client: MlflowClient, unique: str
) -> None:
    assert client.get_experiment_by_name(f"never-created-{unique}") is None


def test_default_experiment_exists(client: MlflowClient) -> None:
    experiment = client.get_experiment("0")

    assert experiment.name == "Default"
    assert client.get_experiment_by_name("Default") is not None


def test_search_experiments_filters_by_name_like(
    client: MlflowClient, unique: str
) -> None:
    wanted = {client.create_experiment(f"like-{unique}-{i}") for i in range(3)}
    client.create_experiment(f"unlike-{unique}")

    found = client.search_experiments(filter_string=f"name LIKE 'like-{unique}-%'")

    assert {experiment.experiment_id for experiment in found} == wanted


def test_search_experiments_filters_by_tag(client: MlflowClient, unique: str) -> None:
    tagged = client.create_experiment(f"bytag-a-{unique}", tags={"owner": unique})
    client.create_experiment(f"bytag-b-{unique}", tags={"owner": "someone-else"})

    found = client.search_experiments(filter_string=f"tags.owner = '{unique}'")

    assert [experiment.experiment_id for experiment in found] == [tagged]


def test_search_experiments_orders_by_name(client: MlflowClient, unique: str) -> None:
    for letter in "cab":
        client.create_experiment(f"order-{unique}-{letter}")

    ascending = client.search_experiments(
        filter_string=f"name LIKE 'order-{unique}-%'", order_by=["name ASC"]
    )
    descending = client.search_experiments(
        filter_string=f"name LIKE 'order-{unique}-%'", order_by=["name DESC"]
    )

    names = [f"order-{unique}-{letter}" for letter in "abc"]
    assert [experiment.name for experiment in ascending] == names
    assert [experiment.name for experiment in descending] == names[::-1]


def test_search_experiments_orders_by_creation_time(
    client: MlflowClient, unique: str
) -> None:
    created = [client.create_experiment(f"created-{unique}-{i}") for i in range(3)]

    found = client.search_experiments(
        filter_string=f"name LIKE 'created-{unique}-%'",
        order_by=["creation_time ASC", "experiment_id ASC"],
    )

    assert [experiment.experiment_id for experiment in found] == created


def test_search_experiments_without_order_puts_the_newest_first(
    client: MlflowClient, unique: str
) -> None:
    created = [client.create_experiment(f"newest-{unique}-{i}") for i in range(3)]

    found = client.search_experiments(filter_string=f"name LIKE 'newest-{unique}-%'")

    creation_times = [experiment.creation_time or 0 for experiment in found]
    assert creation_times == sorted(creation_times, reverse=True)
    assert {experiment.experiment_id for experiment in found} == set(created)


def test_search_experiments_view_types_select_by_lifecycle(
    client: MlflowClient, unique: str
) -> None:
    kept = client.create_experiment(f"view-{unique}-kept")
    gone = client.create_experiment(f"view-{unique}-gone")
    client.delete_experiment(gone)
    name_filter = f"name LIKE 'view-{unique}-%'"

    def ids(view_type: int) -> set[str]:
        found = client.search_experiments(
            view_type=view_type, filter_string=name_filter
        )
        return {experiment.experiment_id for experiment in found}

    assert ids(ViewType.ACTIVE_ONLY) == {kept}
    assert ids(ViewType.DELETED_ONLY) == {gone}
    assert ids(ViewType.ALL) == {kept, gone}


def test_search_experiments_pages_until_exhausted(
    client: MlflowClient, unique: str
) -> None:
    created = [client.create_experiment(f"page-{unique}-{i}") for i in range(5)]
    name_filter = f"name LIKE 'page-{unique}-%'"

    pages = []
    token = None
    while True:
        page = client.search_experiments(
            max_results=2,
            filter_string=name_filter,
            order_by=["name"],
            page_token=token,
        )
        pages.append([experiment.experiment_id for experiment in page])
        token = page.token
        if not token:
            break

    assert pages == [created[0:2], created[2:4], created[4:5]]


def test_rename_experiment_changes_its_name(client: MlflowClient, unique: str) -> None:
    experiment_id = client.create_experiment(f"before-{unique}")

    client.rename_experiment(experiment_id, f"after-{unique}")

    assert client.get_experiment(experiment_id).name == f"after-{unique}"
    assert client.get_experiment_by_name(f"before-{unique}") is None


def test_delete_experiment_marks_it_and_its_runs_deleted(
    client: MlflowClient, unique: str
) -> None:
    experiment_id = client.create_experiment(f"doomed-{unique}")
    run = client.create_run(experiment_id)

    client.delete_experiment(experiment_id)

    assert client.get_experiment(experiment_id).lifecycle_stage == "deleted"
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "deleted"


def test_restore_experiment_brings_back_it_and_its_runs(
    client: MlflowClient, unique: str
) -> None:
    experiment_id = client.create_experiment(f"revived-{unique}")
    run = client.create_run(experiment_id)
    client.delete_experiment(experiment_id)

    client.restore_experiment(experiment_id)

    assert client.get_experiment(experiment_id).lifecycle_stage == "active"
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "active"


def test_deleted_experiment_is_still_found_by_name(
    client: MlflowClient, unique: str
) -> None:
    experiment_id = client.create_experiment(f"hidden-{unique}")
    client.delete_experiment(experiment_id)

    experiment = client.get_experiment_by_name(f"hidden-{unique}")

    assert experiment is not None
    assert experiment.lifecycle_stage == "deleted"


def test_set_experiment_tag_adds_and_overwrites(
    client: MlflowClient, unique: str
) -> None:
    experiment_id = client.create_experiment(f"settag-{unique}", tags={"a": "1"})

    client.set_experiment_tag(experiment_id, "a", "2")
    client.set_experiment_tag(experiment_id, "b", "3")

    assert client.get_experiment(experiment_id).tags == {"a": "2", "b": "3"}


def test_delete_experiment_tag_removes_it(client: MlflowClient, unique: str) -> None:
    experiment_id = client.create_experiment(
        f"deltag-{unique}", tags={"a": "1", "b": "2"}
    )

    client.delete_experiment_tag(experiment_id, "a")

    assert client.get_experiment(experiment_id).tags == {"b": "2"}


# Errors ---------------------------------------------------------------------


def test_create_experiment_with_a_taken_name_already_exists(
    client: MlflowClient, unique: str
) -> None:
    client.create_experiment(f"taken-{unique}")

    with pytest.raises(MlflowException, match="already exists") as raised:
        client.create_experiment(f"taken-{unique}")

    assert raised.value.error_code == "RESOURCE_ALREADY_EXISTS"


def test_create_experiment_with_a_deleted_experiments_name_already_exists(
    client: MlflowClient, unique: str
) -> None:
    client.delete_experiment(client.create_experiment(f"tombstone-{unique}"))

    with pytest.raises(MlflowException, match="already exists") as raised:
        client.create_experiment(f"tombstone-{unique}")

    assert raised.value.error_code == "RESOURCE_ALREADY_EXISTS"


def test_rename_to_a_taken_name_already_exists(
    client: MlflowClient, unique: str
) -> None:
    client.create_experiment(f"occupied-{unique}")
    experiment_id = client.create_experiment(f"mover-{unique}")

    with pytest.raises(MlflowException, match="already exists") as raised:
        client.rename_experiment(experiment_id, f"occupied-{unique}")

    assert raised.value.error_code == "RESOURCE_ALREADY_EXISTS"


def test_get_experiment_of_a_missing_id_does_not_exist(client: MlflowClient) -> None:
    with pytest.raises(MlflowException, match="No Experiment with id=") as raised:
        client.get_experiment("987654321")

    assert raised.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_delete_experiment_of_a_missing_id_does_not_exist(
    client: MlflowClient,
) -> None:
    with pytest.raises(MlflowException, match="No Experiment with id=") as raised:
        client.delete_experiment("987654321")

    assert raised.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_rename_of_a_deleted_experiment_is_an_invalid_state(
    client: MlflowClient, unique: str
) -> None:
    experiment_id = client.create_experiment(f"frozen-{unique}")
    client.delete_experiment(experiment_id)

    with pytest.raises(MlflowException, match="non-active") as raised:
        client.rename_experiment(experiment_id, f"thawed-{unique}")

    assert raised.value.error_code == "INVALID_STATE"


def test_delete_of_a_missing_experiment_tag_does_not_exist(
    client: MlflowClient, unique: str
) -> None:
    experiment_id = client.create_experiment(f"notag-{unique}")

    with pytest.raises(MlflowException, match="No tag with name: absent") as raised:
        client.delete_experiment_tag(experiment_id, "absent")

    assert raised.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_search_experiments_with_a_bad_filter_is_an_invalid_parameter(
    client: MlflowClient,
) -> None:
    with pytest.raises(MlflowException, match="Invalid") as raised:
        client.search_experiments(filter_string="name = 'a' OR name = 'b'")

    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"


def test_search_experiments_with_an_unknown_attribute_is_an_invalid_parameter(
    client: MlflowClient,
) -> None:
    with pytest.raises(MlflowException, match="Invalid") as raised:
        client.search_experiments(filter_string="attributes.colour = 'red'")

    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"


def test_search_experiments_filters_by_experiment_id_in(
    client: MlflowClient, unique: str
) -> None:
    first = client.create_experiment(f"idin-{unique}-1")
    client.create_experiment(f"idin-{unique}-2")
    third = client.create_experiment(f"idin-{unique}-3")

    found = client.search_experiments(
        filter_string=f"experiment_id IN ('{first}', '{third}')",
        order_by=["experiment_id"],
    )

    assert [experiment.experiment_id for experiment in found] == [first, third]


def test_search_experiments_filters_by_creation_time(
    client: MlflowClient, unique: str
) -> None:
    experiment_id = client.create_experiment(f"ctime-{unique}")
    created = client.get_experiment(experiment_id).creation_time

    found = client.search_experiments(
        filter_string=f"name = 'ctime-{unique}' AND creation_time >= {created}"
    )
    none = client.search_experiments(
        filter_string=f"name = 'ctime-{unique}' AND creation_time > {created}"
    )

    assert [experiment.experiment_id for experiment in found] == [experiment_id]
    assert list(none) == []


def test_search_experiments_name_ilike_ignores_case(
    client: MlflowClient, unique: str
) -> None:
    experiment_id = client.create_experiment(f"MiXeD-{unique}")

    found = client.search_experiments(filter_string=f"name ILIKE 'mixed-{unique}'")

    assert [experiment.experiment_id for experiment in found] == [experiment_id]


def test_search_experiments_tag_is_null_finds_untagged_experiments(
    client: MlflowClient, unique: str
) -> None:
    untagged = client.create_experiment(f"null-{unique}-a")
    client.create_experiment(f"null-{unique}-b", tags={"hidden": "true"})

    found = client.search_experiments(
        filter_string=f"name LIKE 'null-{unique}-%' AND tags.hidden IS NULL"
    )

    assert [experiment.experiment_id for experiment in found] == [untagged]


def test_rename_experiment_moves_its_last_update_time(
    client: MlflowClient, unique: str
) -> None:
    experiment_id = client.create_experiment(f"touch-{unique}")
    renamed_after_ms = time.time_ns() // 1_000_000

    client.rename_experiment(experiment_id, f"touched-{unique}")

    last_update_time = client.get_experiment(experiment_id).last_update_time
    assert last_update_time is not None
    assert last_update_time >= renamed_after_ms


def test_set_tag_on_a_deleted_experiment_is_an_invalid_parameter(
    client: MlflowClient, unique: str
) -> None:
    experiment_id = client.create_experiment(f"deadtag-{unique}")
    client.delete_experiment(experiment_id)

    with pytest.raises(
        MlflowException, match="must be in the 'active' state"
    ) as raised:
        client.set_experiment_tag(experiment_id, "k", "v")

    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"


def test_restore_of_an_active_experiment_does_not_exist(
    client: MlflowClient, unique: str
) -> None:
    experiment_id = client.create_experiment(f"alive-{unique}")

    with pytest.raises(MlflowException, match="No Experiment with id=") as raised:
        client.restore_experiment(experiment_id)

    assert raised.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_search_experiments_orders_by_last_update_time(
    client: MlflowClient, unique: str
) -> None:
    first = client.create_experiment(f"lut-{unique}-1")
    second = client.create_experiment(f"lut-{unique}-2")
    client.rename_experiment(first, f"lut-{unique}-1b")

    found = client.search_experiments(
        filter_string=f"name LIKE 'lut-{unique}-%'",
        order_by=["last_update_time DESC", "experiment_id DESC"],
    )

    assert [experiment.experiment_id for experiment in found] == [first, second]


def test_search_experiments_finds_a_renamed_experiment_by_its_new_name(
    client: MlflowClient, unique: str
) -> None:
    experiment_id = client.create_experiment(f"oldname-{unique}")
    client.rename_experiment(experiment_id, f"newname-{unique}")

    found = client.search_experiments(filter_string=f"name = 'newname-{unique}'")

    assert [experiment.experiment_id for experiment in found] == [experiment_id]


def test_the_name_freed_by_a_rename_can_be_taken_again(
    client: MlflowClient, unique: str
) -> None:
    experiment_id = client.create_experiment(f"reused-{unique}")
    client.rename_experiment(experiment_id, f"moved-{unique}")

    again = client.create_experiment(f"reused-{unique}")

    assert again != experiment_id


def test_an_over_long_experiment_tag_value_is_an_invalid_parameter(
    client: MlflowClient, unique: str
) -> None:
    experiment_id = client.create_experiment(f"longtag-{unique}")

    with pytest.raises(MlflowException, match="exceeds the maximum length") as raised:
        client.set_experiment_tag(experiment_id, "k", "v" * 20001)

    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"
