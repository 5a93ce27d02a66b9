"""`GET /v1/reports/roi`: the ROI report (flywheel/roi.py) over HTTP.

It needs `read_models`: the report is about what models and capabilities are worth, read by the people who
read model cards and live quality (stewards, modelers, reviewers), and `read_models` is granted per object,
so a department's reader sees only the capabilities and models its grant covers (each row is filtered by
the policy engine). Callers are key names, never request data; no PII can appear.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from pydantic import StringConstraints
from starlette.concurrency import run_in_threadpool

from zhongtai.flywheel.quality import window_start
from zhongtai.flywheel.roi import VALUE_PATTERN, parse_values, roi_report
from zhongtai.gateway.authz import Access, allow
from zhongtai.gateway.openapi import SECURED, errors


def add_report_routes(app: FastAPI) -> None:
    """Mount the report routes."""

    @app.get(
        "/v1/reports/roi",
        tags=["monitoring"],
        responses=errors(401, 403, 404, 422, 429),
        openapi_extra=SECURED,
    )
    async def roi(
        request: Request,
        access: Annotated[Access, allow("read_models")],
        since: Annotated[
            str,
            Query(
                description="Decisions made this far back, like 30d or 12h.", pattern=r"^[0-9]{1,9}[smhdw]$"
            ),
        ] = "30d",
        value: Annotated[
            list[Annotated[str, StringConstraints(pattern=VALUE_PATTERN, max_length=200)]],
            Query(
                description="An assumed value of one outcome, CAPABILITY:OUTCOME=AMOUNT "
                "(e.g. churn-risk:retained=120); repeatable.",
            ),
        ] = [],  # noqa: B006 - FastAPI copies query defaults
    ) -> dict[str, Any]:
        """Per capability its callers, calls, fallback share, p50/p95 latency, compute seconds and the
        outcomes attributed from feedback (money only at the values given, labelled as assumptions); then
        the reuse of each feature view, feature group and model by capabilities."""
        start = window_start(since, "since")
        values = parse_values(value, "value")
        report = await run_in_threadpool(
            roi_report, request.app.state.gateway.store, start, None, values, access.allows
        )
        return report.to_dict()
