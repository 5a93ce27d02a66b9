"""The gateway of a Zhongtai home, governed (as `zhongtai serve` builds it) or bare (for the policy cost only).

    ZT_HOME=... python bench/security_serve.py --port 8711 --mode governed|bare

Bare is the same app with governance taken out, by the bench alone, in this process only: the one policy
dependency of every route (authentication, the policy check, the rate limit) answers a fixed admin principal
through FastAPI's own `dependency_overrides`, and the decision log writes its batches without scrubbing PII
from them and without their audit record. The product has no switch that does this: a setting that turns
policy off would be one more way to misconfigure a gateway, so the comparison is built here instead.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request

from zhongtai.capabilities import decision_log
from zhongtai.config import Settings
from zhongtai.gateway.app import create_app
from zhongtai.gateway.authz import Access, Guard
from zhongtai.govern.principal import Principal
from zhongtai.meta import access as meta_access
from zhongtai.meta.records import DecisionRecord
from zhongtai.meta.time import aware

ANYONE = Principal("bench-bare", ("admin",))


def _unaudited(self: Any, decisions: Iterable[DecisionRecord]) -> int:
    """DecisionRecords.append without its audit record: the same bulk insert, the same UTC times."""
    batch = [
        dataclasses.replace(d, at=aware(d.at).astimezone(UTC)) if isinstance(d.at, datetime) else d
        for d in decisions
    ]
    if not batch:
        return 0
    with self._sessions.begin() as session:
        session.execute(sa.insert(meta_access.SqlDecision), [dict(d.__dict__) for d in batch])
    return len(batch)


def _anyone(action: str) -> Any:
    # async as the guard is: a plain function would be run in FastAPI's thread pool, one more thread the
    # operating system schedules for this process on a busy machine (a share the governed one lacks).
    async def anyone(request: Request) -> Access:
        return Access(ANYONE, action, request.app.state.gateway.policy.engine)

    return anyone


def bare(app: FastAPI) -> None:
    """Take policy, masking and audit out of `app` (and of this process's decision log)."""
    for route in app.routes:
        for dependency in getattr(getattr(route, "dependant", None), "dependencies", []):
            if isinstance(dependency.call, Guard):
                app.dependency_overrides[dependency.call] = _anyone(dependency.call.action)
    decision_log.scrubbed = lambda record: record  # type: ignore[assignment]
    meta_access.DecisionRecords.append = _unaudited  # type: ignore[method-assign]


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=("governed", "bare"), required=True)
    args = parser.parse_args()
    app = create_app(Settings.from_env())
    if args.mode == "bare":
        bare(app)
    # As gateway/server.py runs it: quiet, no access log.
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
