"""The HTTP API fuzzed from its published OpenAPI description (schemathesis).

Whatever a client sends to any operation, the server answers within a
bounded time and never with a server error, and what it accepted leaves
no partial write behind.  The run is deterministic and
small by default; ``make fuzz`` raises ``CALABI_FUZZ_EXAMPLES`` for a long
one.  The server has a tenant of its own, as the fuzzer deletes and renames
what it finds; it requires sign-in, and the fuzzer signs in as the tenant's
admin, so every operation is reached.
"""

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error

from tests.support.auth import bearer, issue_token, provisioned_tenant
from tests.support.server import free_port, running_server
from tracker.admin.rebuild import rebuild
from tracker.auth.roles import Role
from tracker.config import AuthSettings, S3Settings, Settings
from tracker.tenancy.names import tenant_database
from tracker.tenancy.projectors import tenant_projectors

SCHEMA = Path(__file__).parent.parent / "schemas" / "openapi.json"
# A long run also walks schemathesis's coverage phase: every boundary value
# of every field, some thousands of requests.
LONG_RUN = "CALABI_FUZZ_EXAMPLES" in os.environ
EXAMPLES = int(os.environ.get("CALABI_FUZZ_EXAMPLES", "4"))
# A request answered later than this is a hang.
ANSWER_SECONDS = 15

schema = schemathesis.openapi.from_path(
    SCHEMA,
    config=schemathesis.Config.from_dict(
        {"seed": 20261203, "phases": {"coverage": {"enabled": LONG_RUN}}}
    ),
)


@pytest.fixture(scope="module")
def tenant(cluster_url: str) -> str:
    return provisioned_tenant(cluster_url, "fuzz")


@pytest.fixture(scope="module")
def fuzzed_server(
    cluster_url: str, s3_settings: S3Settings, tenant: str
) -> Iterator[str]:
    settings = Settings(
        database_url=cluster_url,
        port=free_port(),
        default_tenant=tenant,
        s3=s3_settings,
        auth=AuthSettings(),
    )
    with running_server(settings) as uri:
        yield uri


@pytest.fixture(scope="module")
def admin(cluster_url: str, tenant: str) -> dict[str, str]:
    return bearer(issue_token(cluster_url, tenant, "fuzzer", Role.ADMIN).token)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_request_gets_a_server_error_or_hangs(
    case: schemathesis.Case[Any], fuzzed_server: str, admin: dict[str, str]
) -> None:
    answer = case.call(base_url=fuzzed_server, headers=admin, timeout=ANSWER_SECONDS)

    case.validate_response(answer, checks=[not_a_server_error])


# Each pair must hold the same rows: the write-side state a command checked
# and the read models folded from the events it appended.
_WRITE_AND_READ_SIDES = (
    (
        "SELECT experiment_id, name, lifecycle_stage FROM decision.experiments",
        "SELECT experiment_id, name, lifecycle_stage FROM rm.experiments",
    ),
    (
        "SELECT run_id, experiment_id, lifecycle_stage FROM decision.runs",
        "SELECT run_id, experiment_id, lifecycle_stage FROM rm.runs",
    ),
    (
        "SELECT run_id, key, value FROM decision.params",
        "SELECT run_id, key, value FROM rm.params",
    ),
    ("SELECT run_id, key FROM decision.run_tags", "SELECT run_id, key FROM rm.tags"),
    (
        "SELECT experiment_id, key FROM decision.experiment_tags",
        "SELECT experiment_id, key FROM rm.experiment_tags",
    ),
)


def test_the_fuzzed_tenant_holds_no_partial_write(
    cluster_url: str, tenant: str, fuzzed_server: str
) -> None:
    async def check() -> tuple[list[object], list[int]]:
        pool = await asyncpg.create_pool(
            cluster_url, database=tenant_database(tenant), min_size=1, max_size=4
        )
        try:
            report = await rebuild(pool, tenant_projectors(pool), switch=False)
            mismatches = [
                await pool.fetchval(
                    f"SELECT count(*) FROM (({write} EXCEPT {read})"
                    f" UNION ALL ({read} EXCEPT {write})) AS differing"
                )
                for write, read in _WRITE_AND_READ_SIDES
            ]
        finally:
            await pool.close()
        return list(report.drift), mismatches

    drift, mismatches = asyncio.run(check())

    assert drift == []
    assert mismatches == [0] * len(_WRITE_AND_READ_SIDES)
