"""The project-local PostgreSQL server that `make run` and the tests rely on."""

from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest

from tests.support.postgres import start_test_postgres
from tracker.embedded.postgres import ConnectParams, EmbeddedPostgres

Server = tuple[EmbeddedPostgres, ConnectParams]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    embedded, params = start_test_postgres(tmp_path_factory.mktemp("embedded"))
    yield embedded, params
    embedded.stop()


async def fetch_value(params: ConnectParams, query: str) -> Any:
    connection = await asyncpg.connect(params.dsn())
    try:
        return await connection.fetchval(query)
    finally:
        await connection.close()


async def test_test_server_answers_over_its_socket(server: Server) -> None:
    _, params = server

    assert params.uses_socket
    assert await fetch_value(params, "SELECT 1") == 1


async def test_second_start_on_same_directory_reuses_the_server(
    server: Server,
) -> None:
    embedded, params = server
    started_at = await fetch_value(params, "SELECT pg_postmaster_start_time()")

    again = EmbeddedPostgres(embedded.data_dir).start(listen_tcp=False)

    assert again == params
    assert await fetch_value(again, "SELECT pg_postmaster_start_time()") == started_at


async def test_restart_keeps_the_data(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    embedded, params = start_test_postgres(tmp_path_factory.mktemp("restart"))
    try:
        await fetch_value(params, "CREATE TABLE kept AS SELECT 'still here' AS note")
        embedded.stop()
        assert not embedded.is_running()

        restarted = embedded.start(listen_tcp=False, durable=False)

        assert await fetch_value(restarted, "SELECT note FROM kept") == "still here"
    finally:
        embedded.stop()


async def test_tcp_server_listens_on_loopback(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    embedded = EmbeddedPostgres(tmp_path_factory.mktemp("tcp") / "pg")
    try:
        params = embedded.start(listen_tcp=True, durable=False)

        assert params.host == "127.0.0.1"
        assert await fetch_value(params, "SELECT inet_server_addr()::text") == (
            "127.0.0.1/32"
        )
    finally:
        embedded.stop()
