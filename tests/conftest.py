"""Shared fixtures: throwaway databases on the machine's real PostgreSQL and MariaDB servers.

Each test run gets its own database with a random name and drops it afterwards, so parallel and repeated
runs never collide. Override the servers with ZT_TEST_PG_URL / ZT_TEST_MARIADB_URL.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa

PG_ADMIN_URL = os.environ.get("ZT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
MARIADB_ADMIN_URL = os.environ.get("ZT_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")


def _fresh_database(admin_url: str, prefix: str) -> Iterator[str]:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.fail(f"database server at {admin_url} is not reachable: {exc}")
    url = sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            if admin.dialect.name == "postgresql":
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            else:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


TEST_PII_SECRET = "zhongtai-test-master-secret-0123456789abcdef"


@pytest.fixture(autouse=True)
def _pii_master_secret(monkeypatch) -> None:
    """Every test protects PII under a fixed test secret, so no test writes a key file into ~/.zhongtai
    (tests of the key file itself remove the variable)."""
    monkeypatch.setenv("ZT_PII_KEY", TEST_PII_SECRET)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (SQLAlchemy URL, psycopg 3 driver)."""
    yield from _fresh_database(PG_ADMIN_URL, "zt_test")


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    """A fresh, empty MariaDB database (SQLAlchemy URL, PyMySQL driver)."""
    yield from _fresh_database(MARIADB_ADMIN_URL, "zt_test")


@pytest.fixture
def zt_env(tmp_path, monkeypatch) -> dict[str, str]:
    """Point ZT_HOME at a temp folder and clear the store URLs so embedded defaults are used."""
    home = tmp_path / "zt_home"
    monkeypatch.setenv("ZT_HOME", str(home))
    for var in ("ZT_METADATA_URL", "ZT_LAKE_URL", "ZT_OFFLINE_ENGINE", "ZT_ONLINE_URL", "ZT_BUS_URL"):
        monkeypatch.delenv(var, raising=False)
    return {"ZT_HOME": str(home)}


@pytest.fixture(params=["sqlite", "postgresql"])
def metadata_url(request, tmp_path) -> str:
    """The metadata store in its embedded default and in its server form."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'metadata.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def s3_endpoint(monkeypatch) -> Iterator[str]:
    """A real S3 API (moto's server) on 127.0.0.1, with the standard AWS variables pointing at it."""
    import socket

    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    # moto keeps its buckets in process-wide state, shared by every server it starts: begin empty, so one
    # test's objects never show in the next one's bucket listings.
    httpx.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
    for name, value in {
        "AWS_ACCESS_KEY_ID": "zt-test",
        "AWS_SECRET_ACCESS_KEY": "zt-test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
    }.items():
        monkeypatch.setenv(name, value)
    try:
        yield endpoint
    finally:
        server.stop()


SPARK_URL = os.environ.get("ZT_TEST_SPARK_URL", "spark://local[2]")


@pytest.fixture(scope="session")
def spark_url() -> str:
    """The Spark engine URL for the few Spark tests. Its session starts once (seconds) and serves them all."""
    return SPARK_URL
