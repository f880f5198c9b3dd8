"""The stock MLflow web UI, served by the tracker, used in headless Chromium.

The browser is Debian's ``chromium`` driven by Playwright; no browser is
downloaded.  The server runs with a tenant of its own, so the experiment
list holds only what these tests make.  Each test leaves a screenshot of
its last page in ``test-results/screenshots/``.

The page is reached by a hostname mapped to the loopback address, not by
``127.0.0.1``: the stock UI takes a page served from localhost for a
developer's own machine and opens its assistant panel there, which users
of a deployed server never see.
"""

import asyncio
import re
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.support.server import free_port, running_server
from tests.support.tenants import new_tenant_name
from tracker.config import S3Settings, Settings
from tracker.tenancy.catalog import Catalog
from tracker.ui.build import build_directory

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed (.ci/run installs it as root)",
)

SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-results" / "screenshots"
UI_HOST = "calabi.test"
# Flags for a sandboxed CI machine with no network beyond loopback.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    f"--host-resolver-rules=MAP {UI_HOST} 127.0.0.1",
]
# AG Grid's label of a row's selection box.
ROW_SELECTION = re.compile("toggle row selection")
# Playwright's auto-waiting bound; the slowest page loads in about a second.
WAIT_MS = 20_000


@pytest.fixture(scope="module")
def ui_tracking_uri(cluster_url: str, s3_settings: S3Settings) -> Iterator[str]:
    """A server whose default tenant is fresh, with artifacts in S3."""
    assert (build_directory() / "index.html").is_file(), (
        "the UI build is missing: run `make venv` or `python -m tracker.ui.fetch_build`"
    )
    tenant = new_tenant_name("ui")
    # Playwright's sync API keeps an event loop running in this thread once
    # the browser is up, so the tenant is made on a loop of another thread.
    with ThreadPoolExecutor(max_workers=1) as worker:
        worker.submit(asyncio.run, Catalog(cluster_url).create_tenant(tenant)).result()
    settings = Settings(
        database_url=cluster_url,
        port=free_port(),
        prefix="/mlflow",
        default_tenant=tenant,
        s3=s3_settings,
    )

    with running_server(settings) as uri:
        yield uri


@pytest.fixture(scope="module")
def ui_client(ui_tracking_uri: str) -> MlflowClient:
    return MlflowClient(ui_tracking_uri)


@pytest.fixture(scope="module")
def ui_url(ui_tracking_uri: str) -> str:
    return ui_tracking_uri.replace("127.0.0.1", UI_HOST) + "/"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_FLAGS
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser profile on a wide screen; screenshot when done."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    context.set_default_timeout(WAIT_MS)
    opened = context.new_page()

    yield opened

    _save_screenshot(opened, request.node.name)
    context.close()


Snapshot = Callable[[str], None]


@pytest.fixture
def snapshot(page: Page, request: pytest.FixtureRequest) -> Snapshot:
    """Save a screenshot of the page as it is now, named for the test and a step."""
    return lambda step: _save_screenshot(page, f"{request.node.name}-{step}")


def _save_screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


@pytest.fixture(autouse=True)
def _patient_expectations() -> None:
    expect.set_options(timeout=WAIT_MS)


def _trained_run(client: MlflowClient, experiment_id: str, name: str, lr: str) -> str:
    run = client.create_run(experiment_id, run_name=name)
    run_id: str = run.info.run_id
    metrics = [
        Metric("loss", 1.0 / (step + 1), 1_700_000_000_000 + step, step)
        for step in range(8)
    ]
    client.log_batch(
        run_id,
        metrics=[*metrics, Metric("accuracy", 0.875, 1_700_000_000_100, 0)],
        params=[Param("learning_rate", lr), Param("optimizer", "adam")],
        tags=[RunTag("owner", "ana")],
    )
    client.set_terminated(run_id)

    return run_id


def test_experiment_list_shows_prefixed_experiments_in_alphabetical_groups(
    page: Page, ui_client: MlflowClient, ui_url: str, unique: str
) -> None:
    names = [f"{unique}-{group}-{n}" for group in ("beta", "alpha") for n in (2, 1)]
    for name in names:
        ui_client.create_experiment(name)

    page.goto(ui_url + "#/experiments")
    page.get_by_role("columnheader", name="Name").click()

    # Sorted by name, each group's experiments stand together, alpha first.
    listed = page.get_by_role("link").filter(has_text=unique)
    expect(listed).to_have_text(sorted(names))


def test_create_experiment_button_creates_the_experiment(
    page: Page, ui_client: MlflowClient, ui_url: str, unique: str
) -> None:
    name = f"{unique}-made-in-the-browser"

    page.goto(ui_url + "#/experiments")
    page.get_by_role("button", name="Create", exact=True).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_placeholder("Input an experiment name").fill(name)
    dialog.get_by_role("button", name="Create").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    page.goto(ui_url + "#/experiments")
    expect(page.get_by_role("link", name=name)).to_be_visible()

    created = ui_client.get_experiment_by_name(name)
    assert created is not None
    assert created.lifecycle_stage == "active"


def test_search_bar_filters_by_name_fragment(
    page: Page, ui_client: MlflowClient, ui_url: str, unique: str
) -> None:
    ui_client.create_experiment(f"{unique}-resnet-cifar")
    ui_client.create_experiment(f"{unique}-bert-squad")

    page.goto(ui_url + "#/experiments")
    search = page.get_by_placeholder("Search experiments")
    search.fill(f"{unique}-resnet")
    search.press("Enter")

    expect(page.get_by_role("link").filter(has_text=unique)).to_have_text(
        [f"{unique}-resnet-cifar"]
    )


def test_tag_filter_keeps_experiments_with_the_tag_value(
    page: Page, ui_client: MlflowClient, ui_url: str, unique: str
) -> None:
    ui_client.create_experiment(f"{unique}-vision", tags={"team": f"{unique}-cv"})
    ui_client.create_experiment(f"{unique}-language", tags={"team": f"{unique}-nlp"})

    page.goto(ui_url + "#/experiments")
    page.get_by_role("button", name="Tag", exact=True).click()
    page.get_by_placeholder("Key").fill("team")
    page.get_by_placeholder("Value").fill(f"{unique}-nlp")
    page.get_by_role("button", name="Apply filters").click()

    expect(page.get_by_role("link").filter(has_text=unique)).to_have_text(
        [f"{unique}-language"]
    )


def test_runs_table_shows_metrics_and_params(
    page: Page, ui_client: MlflowClient, ui_url: str, unique: str
) -> None:
    experiment_id = ui_client.create_experiment(f"{unique}-table")
    _trained_run(ui_client, experiment_id, "tuned-run", lr="0.003")

    page.goto(ui_url + f"#/experiments/{experiment_id}/runs")
    expect(page.get_by_role("link", name="tuned-run")).to_be_visible()
    # MLflow 3 shows metric and parameter columns once they are chosen.
    page.get_by_role("button", name="Columns").click()
    chooser = page.get_by_role("dialog")
    chooser.get_by_text("Metrics (2)").click()
    chooser.get_by_text("Parameters (2)").click()
    page.keyboard.press("Escape")

    for header in ("accuracy", "loss", "learning_rate", "optimizer"):
        header_cell = page.get_by_role("columnheader", name=header, exact=True)
        expect(header_cell.first).to_be_visible()
    for value in ("0.875", "0.125", "0.003", "adam"):
        expect(page.get_by_role("gridcell", name=value, exact=True)).to_be_visible()


def test_run_page_shows_params_metrics_tags_chart_and_artifact(
    page: Page,
    snapshot: Snapshot,
    ui_client: MlflowClient,
    ui_url: str,
    unique: str,
) -> None:
    experiment_id = ui_client.create_experiment(f"{unique}-run-page")
    run_id = _trained_run(ui_client, experiment_id, "inspected-run", lr="0.01")
    ui_client.log_text(run_id, f"notes of {unique}\n", "reports/notes.txt")
    run_page = ui_url + f"#/experiments/{experiment_id}/runs/{run_id}"

    page.goto(run_page)
    expect(page.get_by_role("heading", name="inspected-run")).to_be_visible()
    expect(page.get_by_role("cell", name="learning_rate")).to_be_visible()
    expect(page.get_by_role("cell", name="0.01", exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name="accuracy")).to_be_visible()
    expect(page.get_by_role("cell", name="0.875", exact=True)).to_be_visible()
    expect(page.get_by_text("owner", exact=True)).to_be_visible()

    snapshot("overview")

    page.get_by_role("tab", name="Model metrics").click()
    chart = page.get_by_test_id("experiment-view-compare-runs-card").filter(
        has=page.get_by_role("heading", name="loss")
    )
    expect(chart.locator(".js-plotly-plot")).to_be_visible()
    expect(chart.get_by_text("inspected-run (loss)")).to_be_visible()
    snapshot("chart")

    page.get_by_role("tab", name="Artifacts").click()
    page.get_by_text("reports", exact=True).click()
    page.get_by_text("notes.txt", exact=True).click()
    expect(page.get_by_text(f"notes of {unique}")).to_be_visible()


def test_comparing_two_runs_shows_both(
    page: Page, ui_client: MlflowClient, ui_url: str, unique: str
) -> None:
    experiment_id = ui_client.create_experiment(f"{unique}-compare")
    first = _trained_run(ui_client, experiment_id, "first-run", lr="0.1")
    second = _trained_run(ui_client, experiment_id, "second-run", lr="0.2")

    page.goto(ui_url + f"#/experiments/{experiment_id}/runs")
    for name in ("first-run", "second-run"):
        row = page.get_by_role("row").filter(has=page.get_by_role("link", name=name))
        row.get_by_role("checkbox", name=ROW_SELECTION).check()
    page.get_by_role("button", name="Compare").click()

    expect(page.get_by_text("Comparing 2 Runs")).to_be_visible()
    compared = ((first, "first-run", "0.1"), (second, "second-run", "0.2"))
    for run_id, name, lr in compared:
        expect(page.get_by_role("link", name=run_id)).to_be_visible()
        expect(page.get_by_text(name, exact=True).first).to_be_visible()
        expect(page.get_by_role("cell", name=lr, exact=True).first).to_be_visible()


def test_registry_page_lists_a_model_and_its_versions(
    page: Page, ui_client: MlflowClient, ui_url: str, unique: str
) -> None:
    experiment_id = ui_client.create_experiment(f"{unique}-registry")
    run_id = _trained_run(ui_client, experiment_id, "model-run", lr="0.05")
    model = f"{unique}-classifier"
    ui_client.create_registered_model(model)
    for _ in range(2):
        ui_client.create_model_version(model, f"runs:/{run_id}/model", run_id=run_id)
    # A new profile is shown, once, a dialog announcing the registry's new look.
    announcement = page.get_by_role("dialog").filter(has_text="Model Registry UI")
    page.add_locator_handler(
        announcement, lambda: announcement.get_by_role("button", name="Close").click()
    )

    page.goto(ui_url + "#/models")
    page.get_by_role("link", name=model).click()

    for version in ("Version 1", "Version 2"):
        expect(page.get_by_role("link", name=version)).to_be_visible()
