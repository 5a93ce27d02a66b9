"""The online store protocol and the registry that picks a backend by URL scheme (lazy imports).

As Feast's `online_read` / `online_read_async`, the read the gateway makes per decision comes in a sync and an
async form: batch scoring, materialization checks and tests call `read`; the gateway's event loop awaits
`read_async`, so a slow or stalled network store delays only the requests that wait for it.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

from zhongtai.errors import ZhongtaiError

# One module per backend; each exposes `open_store(url: str) -> OnlineStore`.
_BACKENDS = {
    "sqlite": "zhongtai.features.online.sqlite",
    "redis": "zhongtai.features.online.redis",
    "rediss": "zhongtai.features.online.redis",
}

# (entity key, values): the values as a dict, or as its JSON text already encoded.
Row = tuple[str, dict[str, Any] | str]


@runtime_checkable
class OnlineStore(Protocol):
    """Latest feature values per (feature view, entity key).

    Values are plain JSON-able Python values (int, float, bool, str, None). Entity keys are the canonical
    strings made by `entity_key`. A row to write carries its values as a dict, or as the JSON text of that
    dict when the caller has encoded it already (materialize has DuckDB do it, which is much faster).
    """

    def write(self, view: str, rows: Iterable[Row]) -> int:
        """Upsert the values of many entities for one view (batched); returns how many were written."""
        ...

    def replace(self, view: str, rows: Iterable[Row]) -> int:
        """Make `rows` the view's whole set of values, atomically; returns how many were written.

        Readers see the previous set until the new one is complete, then the new one: never a mix, never an
        empty view in between. If iterating `rows` or writing fails, the previous set stays as it was.
        """
        ...

    def read(self, key: str, views: Sequence[str]) -> dict[str, dict[str, Any] | None]:
        """The values of one entity for several views in ONE round trip; None for a view with no values."""
        ...

    async def read_async(self, key: str, views: Sequence[str]) -> dict[str, dict[str, Any] | None]:
        """`read` for the event loop: the same answer and errors, and the loop never waits on a network store
        (Redis through its asyncio client; SQLite's local read runs on the loop, see its module)."""
        ...

    def read_many(self, view: str, keys: Sequence[str]) -> list[dict[str, Any] | None]:
        """The values of many entities for ONE view in one round trip, in the order of `keys`; None for
        an entity with no values (a recommender reads the stock of its candidates at one store this way)."""
        ...

    def clear(self, view: str) -> None:
        """Remove every value of a view."""
        ...

    def close(self) -> None: ...

    async def aclose(self) -> None:
        """Release what `read_async` holds on the event loop (before `close`, from the loop)."""
        ...


def encode_values(values: dict[str, Any] | str) -> str:
    """A row's values as stored: JSON text (a str is taken as JSON already)."""
    return values if isinstance(values, str) else json.dumps(values)


def entity_key(values: Sequence[Any]) -> str:
    """The canonical string for an entity's join-key values: `100005`, or `101|20017` for composite keys."""
    return "|".join(str(v) for v in values)


def open_online_store(url: str) -> OnlineStore:
    """The online store for `ZT_ONLINE_URL`: `sqlite:///path` (default) or `redis://host:port/db`."""
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    module = _BACKENDS.get(scheme)
    if module is None:
        raise ZhongtaiError(
            "invalid_argument",
            f"online store URL {url!r}: unknown scheme '{scheme}'",
            f"use one of: {', '.join(f'{s}://' for s in _BACKENDS)}",
        )
    return importlib.import_module(module).open_store(url)
