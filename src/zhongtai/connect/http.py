"""Read an HTTP JSON API, page by page, as Arrow batches."""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pyarrow as pa

from zhongtai.config import mask_url
from zhongtai.connect.batches import (
    SchemaTracker,
    keep_since,
    resolve_for,
    schema_changed,
    slices,
    with_declared,
    without_values,
)
from zhongtai.connect.types import cast_batch
from zhongtai.errors import SourceError
from zhongtai.spec.models import DatasetSpec, HttpSource, Pagination

BACKOFF_S = 0.5
MAX_BACKOFF_S = 8.0
MAX_RETRY_AFTER_S = 5.0
_sleep = time.sleep  # tests replace it to observe the waits
_MISSING = object()


def connector(source: HttpSource, environ: Mapping[str, str] | None) -> HttpConnector:
    """The connector for an HTTP API; URL, headers and params are resolved when the client opens."""
    return HttpConnector(source, environ)


class HttpConnector:
    """One HTTP API, reached through one `httpx.Client` opened on first use and closed by `close`."""

    def __init__(self, source: HttpSource, environ: Mapping[str, str] | None) -> None:
        self.source = source
        self._environ = environ
        self._client: httpx.Client | None = None
        self._params: dict[str, str] = {}

    def check(self) -> str:
        """GET the base URL; any answer below 500 means reachable: `http://host/api: reachable (HTTP 200)`."""
        client = self._get_client()
        url = str(client.base_url)
        response = self._get(client, url, {}, f"source '{self.source.name}'")
        if response.status_code >= 500:
            raise SourceError(
                f"source '{self.source.name}': {mask_url(url)} answered HTTP {response.status_code}: "
                f"{response.text[:200]}"
            )
        return f"{mask_url(url)}: reachable (HTTP {response.status_code})"

    def schema(self, dataset: DatasetSpec) -> pa.Schema:
        """Read pages until every field has shown a value (usually the first page)."""
        tracker = SchemaTracker(self._where(dataset), fill_missing=True)
        for _ in self._batches(dataset, None, tracker):
            if not tracker.has_nulls():
                break
        return tracker.schema if tracker.schema is not None else pa.schema([])

    def read(self, dataset: DatasetSpec, since: Any | None = None) -> Iterator[pa.RecordBatch]:
        """Every page's records, in order, in batches of at most `batch_rows`; `since` filters on the watermark."""
        where = self._where(dataset)
        tracker = SchemaTracker(where, fill_missing=True)
        for batch in self._batches(dataset, since, tracker):
            if since is not None and dataset.incremental is not None:
                batch = keep_since(batch, dataset.incremental.watermark, since, where)
            yield from slices(batch, dataset.batch_rows)

    def close(self) -> None:
        """Close the HTTP client and its connections."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def _where(self, dataset: DatasetSpec) -> str:
        return f"source '{self.source.name}' dataset '{dataset.name}'"

    def _get_client(self) -> httpx.Client:
        if self._client is None:
            name, env = self.source.name, self._environ
            # The source's params are merged into each URL by hand: httpx would replace a next URL's query.
            self._params = {k: resolve_for(name, v, env) for k, v in self.source.params.items()}
            self._client = httpx.Client(
                base_url=resolve_for(name, self.source.url, env),
                headers={k: resolve_for(name, v, env) for k, v in self.source.headers.items()},
                timeout=self.source.timeout_s,
                follow_redirects=True,
            )
        return self._client

    def _batches(self, dataset: DatasetSpec, since: Any, tracker: SchemaTracker) -> Iterator[pa.RecordBatch]:
        declared = dataset.declared_types()
        for records, origin in self._pages(dataset, since):
            batch = with_declared(cast_batch(records_batch(records, origin), declared, origin), declared)
            yield tracker.conform(batch, origin)

    def _pages(self, dataset: DatasetSpec, since: Any) -> Iterator[tuple[list[dict[str, Any]], str]]:
        """(records, where they came from) for every page; pagination as documented in docs/specs.md."""
        where = self._where(dataset)
        client = self._get_client()
        url = dataset.endpoint or ""
        params: dict[str, Any] = {}
        if since is not None and dataset.incremental is not None and dataset.incremental.param:
            params[dataset.incremental.param] = _since_text(since)
        pagination = dataset.pagination
        if pagination is None:
            response, body = self._fetch(client, url, params, where)
            origin = _origin(where, response)
            yield _records(body, dataset.records, origin), origin
            return
        cursor: str | None = None
        page, offset = pagination.start_page, 0
        for number in range(1, pagination.max_pages + 2):
            if number > pagination.max_pages:
                raise SourceError(
                    f"{where}: more than {pagination.max_pages} pages from {dataset.endpoint}: "
                    "the API may be sending the same pages again",
                    "raise pagination.max_pages if the data really is that large",
                )
            query = {**params, **_page_params(pagination, page, offset, cursor)}
            response, body = self._fetch(client, url, query, where)
            origin = _origin(where, response)
            records = _records(body, dataset.records, origin)
            yield records, origin
            short = pagination.size_param is not None and len(records) < pagination.size
            if not records or (short and pagination.type in ("page", "offset")):
                return
            page, offset = page + 1, offset + len(records)
            if pagination.type == "cursor":
                cursor = _next_cursor(body, pagination, cursor, origin)
                if cursor is None:
                    return
            elif pagination.type == "next_url":
                next_url = _next_url(body, response, pagination, origin)
                if next_url is None:
                    return
                url, params = next_url, {}

    def _fetch(
        self, client: httpx.Client, url: str, params: dict[str, Any], where: str
    ) -> tuple[httpx.Response, Any]:
        response = self._get(client, url, params, where)
        shown = mask_url(str(response.url))
        if response.status_code >= 400:
            raise SourceError(
                f"{where}: GET {shown} answered HTTP {response.status_code}: {response.text[:200]}"
            )
        try:
            return response, response.json()
        except ValueError:
            kind = response.headers.get("content-type", "no content type")
            raise SourceError(
                f"{where}: GET {shown} did not return JSON ({kind}): {response.text[:200]}"
            ) from None

    def _get(self, client: httpx.Client, url: str, params: dict[str, Any], where: str) -> httpx.Response:
        """GET with retries on connection errors, 429 and 5xx; the last answer is returned as it is."""
        attempt = 0
        while True:
            try:
                request = client.build_request(
                    "GET", httpx.URL(url).copy_merge_params({**self._params, **params})
                )
                response = client.send(request)
            except httpx.TransportError as exc:
                if attempt >= self.source.retries:
                    raise SourceError(
                        f"{where}: cannot reach {mask_url(str(request.url))} after {attempt + 1} "
                        f"attempt(s): {type(exc).__name__}: {exc}",
                        "check the source's url and that the API is up and reachable from here",
                    ) from None
                _sleep(_backoff(attempt))
                attempt += 1
                continue
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                raise SourceError(f"{where}: cannot request {mask_url(url)}: {exc}") from None
            retryable = response.status_code == 429 or response.status_code >= 500
            if not retryable or attempt >= self.source.retries:
                return response
            _sleep(_wait(response, attempt))
            attempt += 1


def records_batch(records: list[dict[str, Any]], origin: str) -> pa.RecordBatch:
    """Records (possibly nested dicts) as a batch; columns follow the order keys are first seen."""
    names = list(dict.fromkeys(key for record in records for key in record))
    arrays = []
    for name in names:
        try:
            arrays.append(pa.array([record.get(name) for record in records]))
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
            raise schema_changed(
                f"{origin}: field '{name}' mixes value types ({without_values(str(exc))})"
            ) from None
    return pa.RecordBatch.from_arrays(arrays, names=names)


def _page_params(pagination: Pagination, page: int, offset: int, cursor: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if pagination.type in ("page", "offset") and pagination.size_param:
        params[pagination.size_param] = pagination.size
    if pagination.type == "page":
        params[pagination.page_param] = page
    elif pagination.type == "offset":
        params[pagination.offset_param] = offset
    elif pagination.type == "cursor" and cursor is not None:
        params[pagination.cursor_param] = cursor
    return params


def _next_cursor(body: Any, pagination: Pagination, previous: str | None, origin: str) -> str | None:
    cursor = _dig(body, pagination.cursor_path)
    if cursor is _MISSING or cursor in (None, ""):
        return None
    if str(cursor) == previous:
        raise SourceError(
            f"{origin}: the cursor did not advance ({cursor!r}): the API would repeat this page"
        )
    return str(cursor)


def _next_url(body: Any, response: httpx.Response, pagination: Pagination, origin: str) -> str | None:
    if pagination.next_path is None:
        target = response.links.get("next", {}).get("url")
    else:
        found = _dig(body, pagination.next_path)
        target = None if found is _MISSING else found
    if not target:
        return None
    absolute = str(response.url.join(str(target)))
    if absolute == str(response.url):
        raise SourceError(f"{origin}: the next page is this page again: the API would repeat it")
    return absolute


def _records(body: Any, path: str | None, origin: str) -> list[dict[str, Any]]:
    found = body if path is None else _dig(body, path)
    if found is _MISSING:
        keys = ", ".join(body) if isinstance(body, dict) else type(body).__name__
        raise SourceError(
            f"{origin}: the response has no '{path}' (it holds: {keys})", "fix the dataset's records"
        )
    if found is None:
        return []
    if not isinstance(found, list) or not all(isinstance(record, dict) for record in found):
        where = f"'{path}'" if path else "the body"
        raise SourceError(
            f"{origin}: {where} is not a list of JSON objects", "point records at the list of records"
        )
    return found


def _dig(body: Any, path: str) -> Any:
    """The value at a dotted path (`data.items`, `meta.next`), or _MISSING."""
    current = body
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return _MISSING
    return current


def _origin(where: str, response: httpx.Response) -> str:
    return f"{where} page {mask_url(str(response.url))}"


def _since_text(since: Any) -> str:
    value = since.as_py() if isinstance(since, pa.Scalar) else since
    return value.isoformat() if isinstance(value, dt.date | dt.time) else str(value)


def _backoff(attempt: int) -> float:
    return float(min(BACKOFF_S * 2**attempt, MAX_BACKOFF_S))


def _wait(response: httpx.Response, attempt: int) -> float:
    """Retry-After (seconds or an HTTP date) when given, capped so one server cannot stall a read; else backoff."""
    value = response.headers.get("retry-after")
    if value is None:
        return _backoff(attempt)
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (email.utils.parsedate_to_datetime(value) - dt.datetime.now(dt.UTC)).total_seconds()
        except (TypeError, ValueError):
            return _backoff(attempt)
    return max(0.0, min(seconds, MAX_RETRY_AFTER_S))
