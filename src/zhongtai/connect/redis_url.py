"""A Redis client from a store URL: `redis://host:port/db`, optionally `?prefix=name` for the key prefix.

The online store and the Redis Streams bus are both configured this way; their keys live under the prefix.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from zhongtai.errors import ZhongtaiError

DEFAULT_PREFIX = "zt"


def redis_client(url: str, role: str) -> tuple[Any, str]:
    """The client for `url` (without the `prefix` parameter, which redis-py does not know) and the prefix.

    `role` names what the URL configures in errors ("online store", "bus").
    """
    import redis

    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefix = next((v for k, v in query if k == "prefix"), DEFAULT_PREFIX)
    if not prefix:
        raise ZhongtaiError("invalid_argument", f"{role} URL {url!r}: prefix must not be empty")
    rest = urlencode([(k, v) for k, v in query if k != "prefix"])
    try:
        return redis.Redis.from_url(urlunsplit(parts._replace(query=rest))), prefix
    except ValueError as exc:
        raise ZhongtaiError("invalid_argument", f"{role} URL {url!r}: {exc}") from None


def text(value: bytes | str) -> str:
    """A Redis reply as text (clients may be opened with or without decode_responses)."""
    return value if isinstance(value, str) else value.decode()
