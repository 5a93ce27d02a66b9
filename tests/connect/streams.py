"""Bus URLs for tests: the embedded file under a temp folder, Redis and NATS on 127.0.0.1 under a unique prefix,
and cleaning up what each left behind."""

from __future__ import annotations

import uuid
from pathlib import Path

REDIS = "redis://127.0.0.1:6379/0"
NATS = "nats://127.0.0.1:4222"
BACKENDS = ("sqlite", "redis", "nats")


def bus_url(backend: str, folder: Path, ack_wait_s: float = 60) -> str:
    """A fresh, isolated bus of the backend."""
    tag = f"zttest{uuid.uuid4().hex[:10]}"
    if backend == "sqlite":
        return f"sqlite:///{folder / f'{tag}.db'}"
    if backend == "redis":
        return f"{REDIS}?prefix={tag}"
    return f"{NATS}?prefix={tag}&ack_wait={ack_wait_s}"


def clean_up(url: str) -> None:
    """Delete the streams a test created on a server bus."""
    if url.startswith("redis://"):
        import redis

        prefix = url.split("prefix=", 1)[1]
        client = redis.Redis.from_url(REDIS)
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
    elif url.startswith("nats://"):
        import asyncio

        import nats

        prefix = url.split("prefix=", 1)[1].split("&", 1)[0].upper()

        async def drop() -> None:
            nc = await nats.connect(NATS)
            js = nc.jetstream()
            for info in await js.streams_info():
                if info.config.name.startswith(prefix + "_"):
                    await js.delete_stream(info.config.name)
            await nc.close()

        asyncio.run(drop())
