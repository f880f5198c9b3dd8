"""The search scenarios: runs by filter and order, experiments, and growth.

Each is driven through the stock ``mlflow`` client over HTTP and returns its
figures as a flat mapping, like every scenario (see ``bench.workload``).
"""

import time

from mlflow.tracking import MlflowClient

from bench import clients as c
from bench.stats import latency_summary, rate
from bench.workload import (
    Figures,
    Target,
    ingest,
    ratio,
    split,
    timed,
)

# Search runs start at this fixed time (ms), one millisecond apart, so the
# start_time filter means the same thing on every server and every run.
SEARCH_BASE_TIME = 1_700_000_000_000
EXPERIMENT_PREFIX = "bench-exp"


# Search runs --------------------------------------------------------------------


def search_setup(
    target: Target,
    experiment_id: str,
    first: int,
    count: int,
    window: str,
    base_time: int = SEARCH_BASE_TIME,
) -> Figures:
    """Create search runs ``first`` .. ``first + count - 1`` with the setup pool.

    Run ``i`` starts at ``base_time + i`` ms.
    """
    shares = split(first, count, target.sizes.setup_clients)
    tasks = [
        c.SearchRunsTask(
            tracking_uri=target.tracking_uri,
            experiment_id=experiment_id,
            first=start,
            count=size,
            base_time=base_time,
        )
        for start, size in shares
    ]

    with target.window(window) as usage:
        logs = target.pool.map(c.create_search_runs, tasks, chunksize=1)

    errors = [error for log in logs for error in log.errors]
    target.note_errors(window, errors)

    return {
        "runs_per_s": rate(sum(log.done for log in logs), usage.seconds),
        "errors": float(len(errors)),
    }


def search_filter(threshold_index: int) -> str:
    """Metric, param, tag and attribute conditions, ANDed as MLflow allows."""
    return (
        "metrics.m0 > 0.5 and params.p1 = 'x' and tags.t1 = 'a'"
        f" and attributes.start_time >= {SEARCH_BASE_TIME + threshold_index}"
    )


def expected_filtered(runs: int, threshold_index: int) -> list[str]:
    """Names of the runs the filter matches, in ``metrics.m0 DESC`` order."""
    matches = [
        index
        for index in range(threshold_index, runs)
        if c.search_metric(index) > 0.5
        and c.search_param(index) == "x"
        and c.search_tag(index) == "a"
    ]
    matches.sort(key=c.search_metric, reverse=True)

    return [f"search-{index:07d}" for index in matches]


def search_queries(
    target: Target,
    experiment_id: str,
    runs: int,
    threshold_index: int,
    window: str,
    *,
    page_through_all: bool,
    filtered_runs: int | None = None,
) -> Figures:
    """Filtered and ordered first pages, repeated; then paging to the end.

    Args:
        runs: How many search runs the experiment holds.
        filtered_runs: How many of them, from run 0 on, start late enough
            for the filter's start_time bound; all of them by default.
    """
    client = target.client
    sizes = target.sizes
    query = search_filter(threshold_index)
    by_metric = ["metrics.m0 DESC"]
    expected = expected_filtered(filtered_runs or runs, threshold_index)
    expected_top = [f"search-{i:07d}" for i in _top_by_metric(runs, sizes.page_size)]

    def first_page(filter_string: str, order_by: list[str] | None) -> list[str]:
        page = client.search_runs(
            [experiment_id],
            filter_string=filter_string,
            order_by=order_by,
            max_results=sizes.page_size,
        )
        return [run.info.run_name for run in page]

    figures: Figures = {}
    with target.window(window):
        filtered, names = timed(
            sizes.search_repeats, lambda: first_page(query, by_metric)
        )
        figures |= latency_summary("filtered_first_page", filtered)
        correct = names == expected[: sizes.page_size]

        ordered, names = timed(sizes.search_repeats, lambda: first_page("", by_metric))
        figures |= latency_summary("ordered_first_page", ordered)
        correct = correct and names == expected_top

        pages, names, seconds = _page_to_end(
            client, experiment_id, query, by_metric, sizes.page_size
        )
        figures |= latency_summary("filtered_page", pages)
        figures["filtered_pages"] = float(len(pages))
        figures["filtered_paging_s"] = seconds
        correct = correct and names == expected

        if page_through_all:
            pages, names, seconds = _page_to_end(
                client, experiment_id, "", None, sizes.page_size
            )
            figures |= latency_summary("all_page", pages)
            figures["all_pages"] = float(len(pages))
            figures["all_paging_s"] = seconds
            correct = correct and len(set(names)) == runs

    figures["matches"] = float(len(expected))
    figures["correct"] = 1.0 if correct else 0.0
    return figures


def _top_by_metric(runs: int, count: int) -> list[int]:
    return sorted(range(runs), key=c.search_metric, reverse=True)[:count]


def _page_to_end(
    client: MlflowClient,
    experiment_id: str,
    filter_string: str,
    order_by: list[str] | None,
    page_size: int,
) -> tuple[list[float], list[str], float]:
    latencies: list[float] = []
    names: list[str] = []
    token: str | None = None
    began = time.perf_counter()
    while True:
        start = time.perf_counter()
        page = client.search_runs(
            [experiment_id],
            filter_string=filter_string,
            order_by=order_by,
            max_results=page_size,
            page_token=token,
        )
        latencies.append((time.perf_counter() - start) * 1000)
        names += [run.info.run_name for run in page]
        token = page.token
        if not token:
            break

    return latencies, names, time.perf_counter() - began


# Experiments --------------------------------------------------------------------


def experiments(target: Target) -> Figures:
    """search_experiments by name pattern, by tag and by both."""
    client = target.client
    sizes = target.sizes
    count = sizes.experiments
    tasks = [
        c.ExperimentsTask(
            tracking_uri=target.tracking_uri,
            prefix=EXPERIMENT_PREFIX,
            first=first,
            count=size,
        )
        for first, size in split(0, count, sizes.setup_clients)
    ]
    with target.window("experiments_setup") as usage:
        logs = target.pool.map(c.create_experiments, tasks, chunksize=1)
    target.note_errors("experiments_setup", [e for log in logs for e in log.errors])
    figures: Figures = {
        "created_per_s": rate(sum(log.done for log in logs), usage.seconds)
    }

    pattern = f"{EXPERIMENT_PREFIX}-0001%"
    queries = {
        "name_like": f"name LIKE '{pattern}'",
        "tag": "tags.team = 'team-3'",
        "name_like_and_tag": f"name LIKE '{pattern}' and tags.team = 'team-3'",
    }
    in_pattern = [i for i in range(count) if f"{i:06d}".startswith("0001")]
    expected = {
        "name_like": min(sizes.page_size, len(in_pattern)),
        "tag": min(sizes.page_size, len(range(3, count, 10))),
        "name_like_and_tag": len([i for i in in_pattern if i % 10 == 3]),
    }

    correct = True
    with target.window("experiments"):
        for name, query in queries.items():

            def search(query: str = query) -> int:
                found = client.search_experiments(
                    filter_string=query, max_results=sizes.page_size
                )
                return len(found)

            latencies, found = timed(sizes.experiment_repeats, search)
            figures |= latency_summary(name, latencies)
            correct = correct and found == expected[name]

        began = time.perf_counter()
        names = _all_experiment_names(client, sizes.page_size)
        figures["paging_all_s"] = time.perf_counter() - began
        correct = correct and len(names) == count

    figures["correct"] = 1.0 if correct else 0.0
    return figures


def _all_experiment_names(client: MlflowClient, page_size: int) -> list[str]:
    names: list[str] = []
    token: str | None = None
    while True:
        page = client.search_experiments(
            filter_string=f"name LIKE '{EXPERIMENT_PREFIX}-%'",
            max_results=page_size,
            page_token=token,
        )
        names += [experiment.name for experiment in page]
        token = page.token
        if not token:
            return names


# Growth -------------------------------------------------------------------------


def growth(
    target: Target,
    search_experiment: str,
    before: Figures,
) -> Figures:
    """Grow the search experiment by the factor, then ingest and search again.

    Args:
        target: The server.
        search_experiment: The experiment of the search scenario.
        before: The figures measured before the growth: ``points_per_s`` of
            the ingest with the fewer clients, and the search's
            ``filtered_first_page_p50_ms`` and ``ordered_first_page_p50_ms``.
    """
    sizes = target.sizes
    base = sizes.search_runs
    grown = base * sizes.growth_factor
    # The added runs are older history: they start before run 0, so the
    # filtered search has the same answer as before and its figure shows
    # what the added data costs, not what a longer answer costs.  The
    # ordered search still ranks every run.
    setup = search_setup(
        target,
        search_experiment,
        base,
        grown - base,
        window="growth_setup",
        base_time=SEARCH_BASE_TIME - grown,
    )
    after_ingest = ingest(target, sizes.ingest_few, window="growth_ingest")
    after_search = search_queries(
        target,
        search_experiment,
        grown,
        base // 10,
        window="growth_search",
        page_through_all=False,
        filtered_runs=base,
    )
    filtered = after_search["filtered_first_page_p50_ms"]
    ordered = after_search["ordered_first_page_p50_ms"]

    return {
        "setup_runs_per_s": setup["runs_per_s"],
        "runs_after": float(grown),
        "ingest_points_per_s_after": after_ingest["points_per_s"],
        "ingest_slowdown": ratio(before["points_per_s"], after_ingest["points_per_s"]),
        "filtered_p50_ms_after": filtered,
        "filtered_slowdown": ratio(filtered, before["filtered_first_page_p50_ms"]),
        "ordered_p50_ms_after": ordered,
        "ordered_slowdown": ratio(ordered, before["ordered_first_page_p50_ms"]),
        "filtered_paging_s_after": after_search["filtered_paging_s"],
        "correct_after": after_search["correct"],
    }
