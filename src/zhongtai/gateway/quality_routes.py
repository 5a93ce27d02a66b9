"""`GET /v1/capabilities/{name}/quality`: live quality from the feedback on logged decisions
(flywheel/quality.py). Needs `call` on the capability, as sending its feedback does."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from starlette.concurrency import run_in_threadpool

from zhongtai.flywheel.quality import live_quality, window_start
from zhongtai.gateway.authz import Access, allow
from zhongtai.gateway.openapi import SECURED, errors


def add_quality_routes(app: FastAPI) -> None:
    """Mount the live-quality route."""

    @app.get(
        "/v1/capabilities/{name}/quality",
        tags=["monitoring"],
        responses=errors(401, 403, 404, 422, 429),
        openapi_extra=SECURED,
    )
    async def quality(
        name: str,
        request: Request,
        access: Annotated[Access, allow("call", "name")],
        since: Annotated[
            str,
            Query(
                description="Decisions made this far back, like 30d or 12h.", pattern=r"^[0-9]{1,9}[smhdw]$"
            ),
        ] = "30d",
        by_day: Annotated[bool, Query(description="One row per day as well as per version and arm.")] = False,
    ) -> dict[str, Any]:
        """Live quality per model version and arm (and day): AUC, precision and recall at the decision
        threshold for binary capabilities, accuracy for classifiers, hit rate for recommendations, MAE and
        MAPE for regression and forecasts, each with the count of decisions that have an outcome."""
        start = window_start(since, "since")
        report = await run_in_threadpool(
            live_quality, request.app.state.gateway.store, name, start, None, by_day
        )
        return report.to_dict()
