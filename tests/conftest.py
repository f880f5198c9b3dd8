"""Fixtures: a real PostgreSQL, the real server over HTTP, the real mlflow client."""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from mlflow.tracking import MlflowClient

from tests.support.postgres import start_test_postgres
from tests.support.s3 import settings_for, start_test_s3
from tests.support.server import free_port, running_server
from tracker.config import S3Settings, Settings
from tracker.tenancy.catalog import Catalog
from tracker.tenancy.names import tenant_database

TENANT = "default"

# Surface server errors at once instead of after the client's retries.
os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = "60"


@pytest.fixture(scope="session")
def cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway PostgreSQL cluster with the catalog and the default tenant."""
    server, params = start_test_postgres(Path(tmp_path_factory.mktemp("pg")))
    url = params.dsn()
    asyncio.run(Catalog(url).create_tenant(TENANT))

    yield url

    server.stop()


@pytest.fixture(scope="session")
def s3_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Settings]:
    """A real S3-compatible server (SeaweedFS) that checks signatures."""
    server, endpoint = start_test_s3(Path(tmp_path_factory.mktemp("s3")))

    yield settings_for(endpoint)

    server.stop()


@pytest.fixture(scope="session")
def settings(cluster_url: str, s3_settings: S3Settings) -> Settings:
    return Settings(
        database_url=cluster_url,
        port=free_port(),
        prefix="/mlflow",
        default_tenant=TENANT,
        s3=s3_settings,
    )


@pytest.fixture(scope="session")
def tracking_uri(settings: Settings) -> Iterator[str]:
    """The URI of a running server, also set for the fluent mlflow API."""
    with running_server(settings) as uri:
        os.environ["MLFLOW_TRACKING_URI"] = uri
        yield uri


@pytest.fixture
def client(tracking_uri: str) -> MlflowClient:
    return MlflowClient(tracking_uri)


@pytest.fixture
def unique() -> str:
    """A fresh suffix, so tests sharing the server never share names."""
    return uuid.uuid4().hex[:10]


@pytest.fixture
async def tenant_db(cluster_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection to the default tenant's database."""
    connection = await asyncpg.connect(cluster_url, database=tenant_database(TENANT))
    yield connection
    await connection.close()
