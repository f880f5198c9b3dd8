"""A throwaway PostgreSQL server for one test process."""

from pathlib import Path

from tracker.embedded.postgres import ConnectParams, EmbeddedPostgres


def start_test_postgres(tmp_dir: Path) -> tuple[EmbeddedPostgres, ConnectParams]:
    """Start a server that lives in ``tmp_dir`` and listens on a socket only.

    Without a TCP port, servers of parallel test processes cannot clash. The
    server trades durability for speed, which a throwaway cluster can afford.
    The caller stops it with ``server.stop()``.

    Args:
        tmp_dir: A private folder with a short path: the socket's path must
            fit in about 100 bytes.

    Returns:
        The server, and where it accepts connections.
    """
    server = EmbeddedPostgres(tmp_dir / "pg")
    params = server.start(listen_tcp=False, durable=False)

    return server, params
