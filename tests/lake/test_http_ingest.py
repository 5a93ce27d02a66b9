"""Ingesting from an HTTP JSON API on 127.0.0.1: rows read recorded per run, and an empty answer is an empty
batch (the current version stays) or, on the first ingest, a clear refusal."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from zhongtai.errors import ZhongtaiError
from zhongtai.lake.ingest import ingest

pytestmark = pytest.mark.integration

SPECS = """\
sources:
  - {{name: api, type: http, url: "{url}"}}
datasets:
  - {{name: members, source: api, endpoint: /members, records: items}}
"""


@pytest.fixture
def api() -> Iterator[tuple[str, list[dict]]]:
    """A JSON API answering `{"items": [...]}` with whatever the test puts in the list."""
    records: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"items": records}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", records
    server.shutdown()
    server.server_close()


def test_rows_read_are_recorded_and_an_empty_answer_keeps_the_version(lake_bench, api):
    url, records = api
    lake_bench.apply(SPECS.format(url=url))
    records.extend({"id": i, "level": "gold"} for i in range(4))
    first = ingest(lake_bench.store, lake_bench.lake, "members")
    records.clear()
    empty = ingest(lake_bench.store, lake_bench.lake, "members")
    assert (first.version, first.rows_read) == (1, 4)
    assert (empty.created, empty.version, empty.rows_read, empty.schema_changes) == (False, 1, 0, [])
    runs = [(r.status, r.rows_read) for r in lake_bench.store.runs("members")]
    assert runs == [("unchanged", 0), ("succeeded", 4)]


def test_an_empty_answer_on_the_first_ingest_is_refused(lake_bench, api):
    url, _ = api
    lake_bench.apply(SPECS.format(url=url))
    with pytest.raises(ZhongtaiError, match="/members holds no rows: no column types to infer"):
        ingest(lake_bench.store, lake_bench.lake, "members")
    assert lake_bench.store.current_version("members") is None
