"""The connector protocol and the registry that picks one by source type (lazy imports keep the CLI fast)."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import Any, Protocol, runtime_checkable

import pyarrow as pa

from zhongtai.spec.models import DatasetSpec, SourceSpec


@runtime_checkable
class Connector(Protocol):
    """Reads datasets of one source. Memory stays bounded: `read` yields batches of `dataset.batch_rows`."""

    def check(self) -> str:
        """Open a connection (or list the folder, or call the API); return a one-line description of the peer.

        Raises SourceError naming the source and the reason when it cannot be reached.
        """
        ...

    def schema(self, dataset: DatasetSpec) -> pa.Schema:
        """The schema the source presents for the dataset, reading as little as possible."""
        ...

    def read(self, dataset: DatasetSpec, since: Any | None = None) -> Iterator[pa.RecordBatch]:
        """Yield the dataset's rows as record batches.

        With `since` (the last ingested watermark value) only rows whose `dataset.incremental.watermark` is
        at or after it come back: the boundary is inclusive because rows sharing the last value may have
        arrived after the previous read; the lake drops the ones it already holds.

        Connectors that infer types (query datasets, files, HTTP) may yield Arrow's `null` type for a column
        whose values have all been null so far; once a real type appears it never changes within the read.
        """
        ...

    def close(self) -> None:
        """Release connections."""
        ...


_MODULES = {"sql": "zhongtai.connect.sql", "files": "zhongtai.connect.files", "http": "zhongtai.connect.http"}


def open_connector(source: SourceSpec, environ: Mapping[str, str] | None = None) -> Connector:
    """The connector for a source; `${env:...}` secrets are resolved from `environ` (default os.environ)."""
    module = importlib.import_module(_MODULES[source.type])
    return module.connector(source, environ)
