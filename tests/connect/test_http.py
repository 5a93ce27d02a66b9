"""The HTTP connector against a real HTTP server on 127.0.0.1 serving every pagination style and failure."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pyarrow as pa
import pytest

from zhongtai.connect import http as http_connector
from zhongtai.connect.base import Connector, open_connector
from zhongtai.errors import SourceError, ZhongtaiError
from zhongtai.spec.models import DatasetSpec, HttpSource

pytestmark = pytest.mark.integration

RECORDS = [
    {
        "id": i,
        "name": f"客户{i}",
        "updated_at": f"2024-01-01T{i:02d}:00:00Z",
        "amount": i * 1.5,
        "address": {"city": "上海", "zip": None if i % 2 else "200000"},
        "tags": ["vip"] if i % 3 == 0 else [],
    }
    for i in range(23)
]
PAGE = 5
TOKEN = "s3cret-token"

Answer = tuple[int, dict[str, str], Any]


@dataclass
class Api:
    """What the test server saw: every request's path and query, and calls per path."""

    base: str = ""
    requests: list[tuple[str, dict[str, str], dict[str, str]]] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)

    def queries(self, path: str) -> list[dict[str, str]]:
        return [query for seen, query, _ in self.requests if seen == path]


def _slice(start: int, size: int = PAGE) -> list[dict[str, Any]]:
    return RECORDS[start : start + size]


def _page(api: Api, q: dict[str, str], h: dict[str, str]) -> Answer:
    page, size = int(q["page"]), int(q["page_size"])
    return 200, {}, {"data": {"items": _slice((page - 1) * size, size)}, "page": page}


def _offset(api: Api, q: dict[str, str], h: dict[str, str]) -> Answer:
    return 200, {}, {"results": _slice(int(q["offset"]), int(q["limit"]))}


def _cursor(api: Api, q: dict[str, str], h: dict[str, str]) -> Answer:
    start = int(q.get("cursor", "0"))
    meta = {"next_cursor": str(start + PAGE)} if start + PAGE < len(RECORDS) else {}
    return 200, {}, {"items": _slice(start), "meta": meta}


def _next_body(api: Api, q: dict[str, str], h: dict[str, str]) -> Answer:
    start = int(q.get("after", "0"))
    following = f"/api/next_body?after={start + PAGE}" if start + PAGE < len(RECORDS) else None
    return 200, {}, {"records": _slice(start), "next": following}


def _next_link(api: Api, q: dict[str, str], h: dict[str, str]) -> Answer:
    start = int(q.get("after", "0"))
    headers = {}
    if start + PAGE < len(RECORDS):
        headers["Link"] = (
            f'<{api.base}/api/next_link?after={start + PAGE}>; rel="next", <{api.base}/api>; rel="up"'
        )
    return 200, headers, _slice(start)


def _flaky(api: Api, q: dict[str, str], h: dict[str, str]) -> Answer:
    return (500, {}, {"error": "try again"}) if api.calls["/api/flaky"] <= 2 else (200, {}, _slice(0, 3))


def _limited(api: Api, q: dict[str, str], h: dict[str, str]) -> Answer:
    return (
        (429, {"Retry-After": "1"}, {"error": "slow down"})
        if api.calls["/api/limited"] == 1
        else (200, {}, _slice(0, 2))
    )


def _secure(api: Api, q: dict[str, str], h: dict[str, str]) -> Answer:
    return (
        (200, {}, _slice(0, 1))
        if h.get("Authorization") == f"Bearer {TOKEN}"
        else (401, {}, {"error": "who?"})
    )


def _pages_of(*pages: list[dict[str, Any]]) -> Callable[[Api, dict[str, str], dict[str, str]], Answer]:
    def answer(api: Api, q: dict[str, str], h: dict[str, str]) -> Answer:
        index = int(q["page"]) - 1
        return 200, {}, pages[index] if index < len(pages) else []

    return answer


ROUTES: dict[str, Callable[[Api, dict[str, str], dict[str, str]], Answer]] = {
    "/api": lambda api, q, h: (200, {}, {"service": "tickets"}),
    "/api/page": _page,
    "/api/offset": _offset,
    "/api/cursor": _cursor,
    "/api/next_body": _next_body,
    "/api/next_link": _next_link,
    "/api/flaky": _flaky,
    "/api/limited": _limited,
    "/api/secure": _secure,
    "/api/down": lambda api, q, h: (503, {}, {"error": "maintenance"}),
    "/api/html": lambda api, q, h: (
        200,
        {"Content-Type": "text/html"},
        "<html><body>maintenance</body></html>",
    ),
    "/api/missing": lambda api, q, h: (404, {}, {"error": "no such endpoint"}),
    "/api/all": lambda api, q, h: (200, {}, RECORDS),
    "/api/loop_cursor": lambda api, q, h: (200, {}, {"items": _slice(0, 1), "meta": {"next_cursor": "same"}}),
    "/api/endless": lambda api, q, h: (
        200,
        {},
        {"records": _slice(0, 1), "next": f"?after={int(q.get('after', 0)) + 1}"},
    ),
    "/api/mixed": _pages_of([{"id": 1, "amount": 1}], [{"id": 2, "amount": "one"}]),
    "/api/nested_grows": _pages_of(
        [{"id": 1, "address": {"city": "上海"}}], [{"id": 2, "address": {"city": "北", "zip": "1"}}]
    ),
    "/api/nested_null": _pages_of(
        [{"id": 1, "address": {"zip": None}}], [{"id": 2, "address": {"zip": "200000"}}]
    ),
    "/api/sparse": _pages_of([{"id": 1, "note": None}], [{"id": 2, "note": "有"}], [{"id": 3}]),
}


class _Handler(BaseHTTPRequestHandler):
    api: Api

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        query = dict(parse_qsl(url.query))
        self.api.requests.append((path, query, dict(self.headers)))
        self.api.calls[path] += 1
        route = ROUTES.get(path, lambda api, q, h: (404, {}, {"error": "not here"}))
        status, headers, body = route(self.api, query, dict(self.headers))
        data = body.encode() if isinstance(body, str) else json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", headers.pop("Content-Type", "application/json; charset=utf-8"))
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def api() -> Iterator[Api]:
    state = Api()
    handler = type("Handler", (_Handler,), {"api": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """The backoff waits the connector asked for (none actually taken)."""
    waited: list[float] = []
    monkeypatch.setattr(http_connector, "_sleep", waited.append)
    return waited


def _source(api: Api, **fields: Any) -> HttpSource:
    return HttpSource(name="tickets_api", type="http", url=f"{api.base}/api", **fields)


def _dataset(endpoint: str, **fields: Any) -> DatasetSpec:
    return DatasetSpec(name="tickets", source="tickets_api", endpoint=endpoint, **fields)


def _read(api: Api, dataset: DatasetSpec, since: Any = None, **source: Any) -> list[pa.RecordBatch]:
    connector = open_connector(_source(api, **source), {})
    try:
        return list(connector.read(dataset, since))
    finally:
        connector.close()


def _rows(batches: list[pa.RecordBatch]) -> list[dict[str, Any]]:
    tables = [pa.Table.from_batches([batch]) for batch in batches]
    return pa.concat_tables(tables, promote_options="default").to_pylist() if tables else []


def test_connector_satisfies_the_protocol(api):
    assert isinstance(open_connector(_source(api), {}), Connector)


@pytest.mark.parametrize(
    ("endpoint", "records", "pagination", "requests"),
    [
        ("/page", "data.items", {"type": "page", "size": PAGE}, 5),
        ("/offset", "results", {"type": "offset", "size": PAGE, "size_param": "limit"}, 5),
        ("/cursor", "items", {"type": "cursor", "cursor_path": "meta.next_cursor"}, 5),
        ("/next_body", "records", {"type": "next_url"}, 5),
        ("/next_link", None, {"type": "next_url", "next_path": None}, 5),
    ],
    ids=["page", "offset", "cursor", "next_url", "link_header"],
)
def test_every_record_comes_back_once_in_order(api, endpoint, records, pagination, requests):
    batches = _read(api, _dataset(endpoint, records=records, pagination=pagination, batch_rows=2))
    assert _rows(batches) == RECORDS
    assert all(batch.num_rows <= 2 for batch in batches)
    assert api.calls[f"/api{endpoint}"] == requests


def test_pages_send_their_parameters(api):
    _read(
        api,
        _dataset("/page", records="data.items", pagination={"type": "page", "size": PAGE, "start_page": 1}),
    )
    assert [q["page"] for q in api.queries("/api/page")] == ["1", "2", "3", "4", "5"]
    assert {q["page_size"] for q in api.queries("/api/page")} == {"5"}
    _read(
        api,
        _dataset(
            "/cursor", records="items", pagination={"type": "cursor", "cursor_path": "meta.next_cursor"}
        ),
    )
    assert [q.get("cursor") for q in api.queries("/api/cursor")] == [None, "5", "10", "15", "20"]


def test_a_full_last_page_stops_at_the_empty_page_after_it(api):
    dataset = _dataset("/page", records="data.items", pagination={"type": "page", "size": len(RECORDS)})
    assert _rows(_read(api, dataset)) == RECORDS
    assert api.calls["/api/page"] == 2


def test_no_pagination_reads_one_response(api):
    batches = _read(api, _dataset("/all"))
    assert _rows(batches) == RECORDS
    assert batches[0].schema.field("address").type == pa.struct([("city", pa.string()), ("zip", pa.string())])


def test_absolute_endpoint_url(api):
    assert _rows(_read(api, _dataset(f"{api.base}/api/all"))) == RECORDS


def test_server_errors_are_retried_with_backoff(api, sleeps):
    assert _rows(_read(api, _dataset("/flaky"))) == RECORDS[:3]
    assert api.calls["/api/flaky"] == 3
    assert sleeps == [http_connector.BACKOFF_S, 2 * http_connector.BACKOFF_S]


def test_too_many_requests_honours_retry_after(api, sleeps):
    assert _rows(_read(api, _dataset("/limited"))) == RECORDS[:2]
    assert sleeps == [1.0]


def test_a_server_that_stays_down_is_a_source_error(api, sleeps):
    with pytest.raises(
        SourceError, match=r"dataset 'tickets': GET .*/api/down answered HTTP 503: .*maintenance"
    ):
        _read(api, _dataset("/down"), retries=2)
    assert api.calls["/api/down"] == 3
    assert len(sleeps) == 2


def test_an_unreachable_server_is_a_source_error(sleeps):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    source = HttpSource(name="tickets_api", type="http", url=f"http://127.0.0.1:{port}/api", retries=1)
    connector = open_connector(source, {})
    with pytest.raises(
        SourceError, match=rf"cannot reach http://127\.0\.0\.1:{port}/api/tickets after 2 attempt"
    ):
        list(connector.read(_dataset("/tickets")))
    with pytest.raises(
        SourceError, match=rf"^source 'tickets_api': cannot reach http://127\.0\.0\.1:{port}/api"
    ):
        connector.check()
    assert sleeps == [http_connector.BACKOFF_S] * 2


def test_non_json_body_is_a_source_error_with_the_body(api):
    with pytest.raises(
        SourceError, match=r"did not return JSON \(text/html\): <html><body>maintenance</body></html>"
    ):
        _read(api, _dataset("/html"))


def test_not_found_is_a_source_error_with_status_and_body(api, sleeps):
    with pytest.raises(
        SourceError, match=r"GET .*/api/missing answered HTTP 404: \{\"error\": \"no such endpoint\"\}"
    ):
        _read(api, _dataset("/missing"))
    assert api.calls["/api/missing"] == 1
    assert sleeps == []


def test_authorization_header_is_resolved_from_the_environment(api, monkeypatch):
    monkeypatch.setenv("TICKETS_TOKEN", TOKEN)
    source = _source(api, headers={"Authorization": "Bearer ${env:TICKETS_TOKEN}"})
    connector = open_connector(source)
    assert _rows(list(connector.read(_dataset("/secure")))) == RECORDS[:1]
    connector.close()
    assert api.requests[-1][2]["Authorization"] == f"Bearer {TOKEN}"
    monkeypatch.delenv("TICKETS_TOKEN")
    with pytest.raises(
        ZhongtaiError, match=r"^source 'tickets_api': environment variable TICKETS_TOKEN is not set"
    ):
        open_connector(source).check()


def test_missing_authorization_is_a_401_source_error(api):
    with pytest.raises(SourceError, match=r"answered HTTP 401: \{\"error\": \"who\?\"\}"):
        _read(api, _dataset("/secure"))


def test_incremental_sends_the_param_and_filters_instants_client_side(api):
    dataset = _dataset("/all", incremental={"watermark": "updated_at", "param": "updated_since"})
    rows = _rows(_read(api, dataset, since="2024-01-01T20:00:00+00:00"))
    assert [row["id"] for row in rows] == [20, 21, 22]
    assert api.queries("/api/all")[-1] == {"updated_since": "2024-01-01T20:00:00+00:00"}
    rows = _rows(_read(api, dataset, since=dt.datetime(2024, 1, 1, 22, tzinfo=dt.UTC)))
    assert [row["id"] for row in rows] == [22]
    assert api.queries("/api/all")[-1] == {"updated_since": "2024-01-01T22:00:00+00:00"}


def test_incremental_param_is_sent_once_with_next_url_pagination(api):
    dataset = _dataset(
        "/next_body",
        records="records",
        pagination={"type": "next_url"},
        incremental={"watermark": "id", "param": "from"},
    )
    assert [row["id"] for row in _rows(_read(api, dataset, since=18))] == [18, 19, 20, 21, 22]
    assert [q.get("from") for q in api.queries("/api/next_body")] == ["18", None, None, None, None]


def test_declared_types_are_applied_and_added(api):
    fields = [{"name": "updated_at", "type": "timestamp_tz"}, {"name": "closed_at", "type": "timestamp_tz"}]
    dataset = _dataset("/all", fields=fields, incremental={"watermark": "updated_at"})
    batches = _read(api, dataset, since=dt.datetime(2024, 1, 1, 21, tzinfo=dt.UTC))
    assert batches[0].schema.field("updated_at").type == pa.timestamp("us", tz="UTC")
    assert batches[0].schema.field("closed_at").type == pa.timestamp("us", tz="UTC")
    assert _rows(batches)[0]["updated_at"] == dt.datetime(2024, 1, 1, 21, tzinfo=dt.UTC)


def test_a_type_change_between_pages_is_schema_changed(api):
    dataset = _dataset("/mixed", pagination={"type": "page", "size": 1})
    with pytest.raises(
        ZhongtaiError,
        match=r"page .*/api/mixed\?page_size=1&page=2: column 'amount' was int64 and is now string",
    ):
        _read(api, dataset)


def test_a_field_null_on_one_page_takes_the_type_of_a_later_page(api):
    dataset = _dataset("/sparse", pagination={"type": "page", "size": 1})
    batches = _read(api, dataset)
    assert [batch.schema.field("note").type for batch in batches] == [pa.null(), pa.string(), pa.string()]
    assert _rows(batches) == [{"id": 1, "note": None}, {"id": 2, "note": "有"}, {"id": 3, "note": None}]
    assert open_connector(_source(api), {}).schema(dataset).field("note").type == pa.string()


def test_a_nested_field_null_on_one_page_takes_the_type_of_a_later_page(api):
    batches = _read(api, _dataset("/nested_null", pagination={"type": "page", "size": 1}))
    assert batches[1].schema.field("address").type == pa.struct([("zip", pa.string())])
    assert _rows(batches) == [{"id": 1, "address": {"zip": None}}, {"id": 2, "address": {"zip": "200000"}}]


def test_a_nested_field_appearing_later_is_schema_changed(api):
    with pytest.raises(
        ZhongtaiError, match=r"column 'address' was struct<city: string> and is now struct<city"
    ):
        _read(api, _dataset("/nested_grows", pagination={"type": "page", "size": 1}))


def test_a_cursor_that_does_not_advance_is_an_error(api):
    dataset = _dataset(
        "/loop_cursor", records="items", pagination={"type": "cursor", "cursor_path": "meta.next_cursor"}
    )
    with pytest.raises(SourceError, match=r"the cursor did not advance \('same'\)"):
        _read(api, dataset)


def test_max_pages_guards_against_endless_pagination(api):
    dataset = _dataset("/endless", records="records", pagination={"type": "next_url", "max_pages": 4})
    with pytest.raises(SourceError, match=r"more than 4 pages from /endless"):
        _read(api, dataset)
    assert api.calls["/api/endless"] == 4


def test_a_missing_records_path_names_what_the_body_holds(api):
    with pytest.raises(SourceError, match=r"the response has no 'data.rows' \(it holds: data, page\)"):
        _read(api, _dataset("/page", records="data.rows", pagination={"type": "page"}))


def test_check_reports_the_status(api):
    assert open_connector(_source(api), {}).check() == f"{api.base}/api/: reachable (HTTP 200)"
    missing = HttpSource(name="tickets_api", type="http", url=f"{api.base}/nowhere")
    assert open_connector(missing, {}).check() == f"{api.base}/nowhere/: reachable (HTTP 404)"


def test_source_params_go_with_every_page_and_are_masked_in_errors(api):
    connector = open_connector(_source(api, params={"api_key": "${env:API_KEY}"}), {"API_KEY": "k3y"})
    rows = _rows(
        list(connector.read(_dataset("/next_body", records="records", pagination={"type": "next_url"})))
    )
    assert rows == RECORDS
    assert [q for q in api.queries("/api/next_body")] == [
        {"api_key": "k3y"},
        *({"after": str(after), "api_key": "k3y"} for after in (5, 10, 15, 20)),
    ]
    with pytest.raises(SourceError, match=r"GET .*/api/missing\?api_key=\*\*\* answered HTTP 404") as caught:
        list(connector.read(_dataset("/missing")))
    assert "k3y" not in caught.value.message
    connector.close()
