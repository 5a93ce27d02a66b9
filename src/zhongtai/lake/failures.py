"""How a failed ingest or append is recorded and shown: with where it failed, never with a value of the data.

pyarrow's and DuckDB's texts quote the values and rows they failed on (`Could not convert string '...'`),
and a run's message is kept in the metadata store and printed; so such texts are never passed on as they
are.
"""

from __future__ import annotations

import pyarrow as pa

from zhongtai.connect.batches import without_values
from zhongtai.errors import ZhongtaiError


def data_error(exc: BaseException, where: str) -> ZhongtaiError | None:
    """The error to record and show for a failed ingest or append, without any value from the data.

    pyarrow's and DuckDB's texts quote the values and rows they failed on, so they are never passed on as
    they are: the quoted parts are taken out. Anything else that is not ours (Ctrl-C, a bug) is recorded by
    its stripped text (`failed_message`) and raised as it is (None)."""
    import duckdb

    if isinstance(exc, ZhongtaiError):
        return exc
    if isinstance(exc, pa.ArrowException | duckdb.Error):
        return ZhongtaiError(
            "source_error",
            f"{where}: {failed_message(exc)}",
            "the values it was about are left out of this message: check the source data near there",
        )
    return None


def failed_message(exc: BaseException) -> str:
    """How a failure that is not ours is recorded: its type and its text without quoted values."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {without_values(text)}" if text else type(exc).__name__
