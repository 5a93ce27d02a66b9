"""Decide, once per request: the batch route, and the answer-keep-log step the single decide shares with it.

`POST /v1/capabilities/{name}/decide/batch` takes `{"inputs": [body, ...]}` (1 to ZT_MAX_BATCH_INPUTS bodies,
each what the single decide takes) and answers `{"results": [...]}` in the order of the inputs: each result is
the single decide's answer with its `index`, or `{"index", "error": {code, message, hint}}` for an input that
could not be decided; the others are answered all the same, and each answer is logged as its own decision.
Per input the work is the single decide's (`runtime.decide`); the whole batch runs in one worker thread so
the event loop keeps serving single decides meanwhile.

`answer_once` is where an `Idempotency-Key` (gateway/idempotency.py) takes effect for both routes: an answer
already kept for the key is answered again (header `Idempotent-Replayed: true`) and nothing is logged or
shadow-scored; a new answer is kept before its decisions are handed to the decision log and its shadows to
the shadow scorer, so a retry never logs twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from zhongtai.capabilities.arms import ArmedRuntime
from zhongtai.capabilities.runtime import Runtime
from zhongtai.errors import ErrorCode, ZhongtaiError
from zhongtai.gateway.authz import EXPLAIN, Access, allow
from zhongtai.gateway.idempotency import HEADER
from zhongtai.gateway.json_body import FeatureJSONResponse
from zhongtai.gateway.openapi import SECURED, batch_body, errors
from zhongtai.gateway.request_body import json_object
from zhongtai.govern.principal import Principal
from zhongtai.meta.records import DecisionRecord

if TYPE_CHECKING:
    from zhongtai.gateway.app import Gateway

log = logging.getLogger(__name__)
REPLAYED = "Idempotent-Replayed"
# A route's work: its answer, and the records of its decisions (logged once the answer is kept).
Work = Callable[[], Awaitable[tuple[dict[str, Any], list[DecisionRecord]]]]


def check_context(inputs: dict[str, Any]) -> None:
    """`context`, when sent, must be an object (it is logged with the decision as it is)."""
    if not isinstance(inputs.get("context", {}), dict):
        raise ZhongtaiError(
            ErrorCode.INVALID_ARGUMENT,
            "field 'context' must be a JSON object",
            'send {"context": {"channel": "app"}} or leave it out',
        )


async def answer_once(
    gw: Gateway,
    request: Request,
    principal: Principal,
    runtime: ArmedRuntime,
    operation: str,
    body: dict[str, Any],
    work: Work,
    *,
    batch: bool = False,
) -> Response:
    """Answer with `work()` unless the request's Idempotency-Key has an answer kept; keep and log a new one.

    A single decide is decided before the shared store is asked (one round trip, to keep its answer; a retry
    is rare and costs one wasted decide); a batch asks first, as re-deciding it would cost a whole batch.
    """
    claim = gw.idempotency.claim(request.headers.get(HEADER), principal.name, operation, body)
    if claim is not None:
        earlier = await gw.idempotency.recall(claim) if batch else gw.idempotency.cached(claim)
        if earlier is not None:
            return _replayed(earlier)
    answer, records = await work()
    response = FeatureJSONResponse(answer)
    if claim is not None:
        earlier = await gw.idempotency.keep(claim, bytes(response.body))
        if earlier is not None:  # another attempt with this key answered first: its answer, its record
            return _replayed(earlier)
    for record in records:
        gw.decisions.submit(record)
        if runtime.shadows:
            gw.shadows.submit(runtime, record.inputs, record.id, principal.name)
    return response


def _replayed(answer: bytes) -> Response:
    return Response(answer, media_type="application/json", headers={REPLAYED: "true"})


def batch_inputs(body: dict[str, Any], max_inputs: int) -> list[Any]:
    """The `inputs` of a batch body: 1 to `max_inputs` of them, and nothing else in the body."""
    unknown = sorted(set(body) - {"inputs"})
    if unknown:
        raise ZhongtaiError(
            ErrorCode.INVALID_ARGUMENT,
            f"unknown field '{unknown[0]}' in the batch body",
            'send {"inputs": [...]}: context belongs inside each input',
        )
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise ZhongtaiError(
            ErrorCode.INVALID_ARGUMENT,
            "field 'inputs' must be a non-empty array of decide bodies",
            'send {"inputs": [{"customer_id": 100005}, {"customer_id": 100006}]}',
        )
    if len(inputs) > max_inputs:
        raise ZhongtaiError(
            ErrorCode.INVALID_ARGUMENT,
            f"field 'inputs' holds {len(inputs)} inputs, more than the limit of {max_inputs} per batch",
            "split the batch (the limit is ZT_MAX_BATCH_INPUTS), or score a dataset in bulk",
        )
    return inputs


def decide_each(
    runtime: Runtime, principal: Principal, inputs: list[Any], started: float, explained: bool = True
) -> tuple[dict[str, Any], list[DecisionRecord]]:
    """Decide every input in order; an input that fails is reported in its place, the others answered
    (with their factors only when `explained`)."""
    results: list[dict[str, Any]] = []
    records: list[DecisionRecord] = []
    for index, item in enumerate(inputs):
        item_started = time.perf_counter()
        try:
            if not isinstance(item, dict):
                raise ZhongtaiError(
                    ErrorCode.INVALID_ARGUMENT,
                    f"inputs[{index}] must be a JSON object like the single decide's body",
                    f"send {{{runtime.input!r}: ...}} for each input",
                )
            check_context(item)
            decision = runtime.decide(item)
        except ZhongtaiError as exc:
            results.append({"index": index, "error": exc.to_dict()})
            continue
        except Exception:
            # One input's failure (a bug, a store error) must not fail the others: the log has the details.
            log.exception("batch decide of %s: input %d failed", runtime.name, index)
            failure = ZhongtaiError(ErrorCode.INTERNAL, "internal error", "the gateway log has the details")
            results.append({"index": index, "error": failure.to_dict()})
            continue
        latency_ms = (time.perf_counter() - item_started) * 1000
        results.append({"index": index, **decision.to_dict(explained), "latency_ms": round(latency_ms, 3)})
        records.append(decision.to_record(principal.name, item, latency_ms))
    answer = {
        "capability": runtime.name,
        "results": results,
        "decided": len(records),
        "failed": len(inputs) - len(records),
        "latency_ms": round((time.perf_counter() - started) * 1000, 3),
    }
    return answer, records


def add_batch_route(app: FastAPI, gateway: Callable[[], Gateway]) -> None:
    """`POST /v1/capabilities/{name}/decide/batch` (see the module docstring)."""

    @app.post(
        "/v1/capabilities/{name}/decide/batch",
        tags=["capabilities"],
        responses=errors(400, 401, 403, 404, 409, 413, 422, 429),
        openapi_extra={**SECURED, "requestBody": batch_body()},
    )
    async def decide_batch(
        name: str, request: Request, access: Annotated[Access, allow("call", "name")]
    ) -> Response:
        """Decide for many entities: one answer (or error) per input, in order, each logged."""
        started = time.perf_counter()
        gw = gateway()
        principal = access.principal
        runtime = gw.capabilities.get(name)
        body = await json_object(request)
        inputs = batch_inputs(body, request.app.state.max_batch_inputs)
        return await answer_once(
            gw,
            request,
            principal,
            runtime,
            f"batch {name}",
            body,
            lambda: run_in_threadpool(
                decide_each, runtime, principal, inputs, started, access.may(EXPLAIN, name)
            ),
            batch=True,
        )
