"""The HTTP API fuzzed from its published OpenAPI description (schemathesis).

Whatever a client sends to any operation, the server answers within a
bounded time and never with a server error.  The run is deterministic and
small by default; ``make fuzz`` raises ``CALABI_FUZZ_EXAMPLES`` for a long
one.  The server has a tenant of its own, as the fuzzer deletes and renames
what it finds; it requires sign-in, and the fuzzer signs in as the tenant's
admin, so every operation is reached.
"""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error

from tests.support.auth import bearer, issue_token, provisioned_tenant
from tests.support.server import free_port, running_server
from tracker.auth.roles import Role
from tracker.config import AuthSettings, S3Settings, Settings

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
