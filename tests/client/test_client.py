"""The SDK against a real gateway: typed answers, batches with a bad input, errors carrying the API's code,
message and hint, the async client, a lost answer retried and logged once, and no server package imported."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import textwrap
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

import httpx
import pytest

from tests.capabilities.world import KNOWN_IDS, model_row
from tests.gateway.test_idempotency import marker, records_marked
from zhongtai.client import (
    AsyncClient,
    BatchResult,
    Client,
    Conflict,
    Decision,
    Factor,
    InvalidRequest,
    ItemError,
    ModelRef,
    NotFound,
    Unauthorized,
)

pytestmark = pytest.mark.integration
SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture
def zt(gateway):
    with Client(gateway.url, gateway.key) as client:
        yield client


def test_decide_answers_a_typed_decision(gateway, zt):
    key = KNOWN_IDS[2]
    decision = zt.decide("churn-risk", customer_id=key, context={"channel": "sdk"})
    assert isinstance(decision, Decision)
    expected = float(gateway.world.booster.predict(model_row(gateway.world.rows[key]))[0])
    assert decision.score == pytest.approx(expected)
    assert decision.decision in {"retain_offer", "watch", "none"}
    assert decision.model == ModelRef("churn", 1)
    assert (decision.capability, decision.fallback, decision.replayed) == ("churn-risk", False, False)
    assert len(decision.factors) == 3 and all(isinstance(f, Factor) for f in decision.factors)
    assert decision.latency_ms > 0 and dict(decision.output) == {}
    assert (decision.arm, decision.fallback_reason) == ("champion", None)
    as_dict = zt.decide("churn-risk", {"customer_id": key})
    assert as_dict.score == decision.score and as_dict.decision_id != decision.decision_id
    fallback = zt.decide("churn-risk", customer_id="brand-new")
    assert (fallback.decision, fallback.fallback, fallback.model.version) == ("new_customer", True, None)


def test_a_given_idempotency_key_replays_the_first_answer(zt):
    key = marker()
    first = zt.decide("churn-risk", customer_id=KNOWN_IDS[3], idempotency_key=key)
    again = zt.decide("churn-risk", customer_id=KNOWN_IDS[3], idempotency_key=key)
    assert (again.decision_id, again.replayed, first.replayed) == (first.decision_id, True, False)
    with pytest.raises(Conflict, match="used before for a different request") as raised:
        zt.decide("churn-risk", customer_id=KNOWN_IDS[4], idempotency_key=key)
    assert raised.value.status == 409 and raised.value.code == "conflict" and raised.value.hint


def test_a_batch_answers_each_input_or_its_error(zt):
    result = zt.decide_batch(
        "churn-risk", [{"customer_id": KNOWN_IDS[5]}, {"context": {}}, {"customer_id": "x"}]
    )
    assert isinstance(result, BatchResult) and len(result) == 3
    decided, failed, fallback = result
    assert isinstance(decided, Decision) and decided.fallback is False
    assert isinstance(failed, ItemError) and failed.index == 1 and failed.code == "invalid_argument"
    assert "customer_id" in failed.message
    assert isinstance(fallback, Decision) and fallback.fallback is True
    assert [d.decision_id for d in result.decisions] == [decided.decision_id, fallback.decision_id]
    assert result.errors == [failed]


def test_capabilities_are_listed(zt):
    (churn,) = zt.capabilities()
    assert (churn.name, churn.input, churn.model) == (
        "churn-risk",
        "customer_id",
        ModelRef("churn", 1, "champion"),
    )
    assert set(churn.decisions) == {"retain_offer", "watch", "none"}
    assert [t["arm"] for t in churn.traffic] == ["champion"]


def test_errors_carry_the_api_code_message_and_hint(gateway, zt):
    with pytest.raises(NotFound, match="capability 'nope' is not registered") as missing:
        zt.decide("nope", customer_id=1)
    assert (missing.value.status, missing.value.code) == (404, "not_found") and missing.value.hint
    with pytest.raises(InvalidRequest, match="customer_id") as invalid:
        zt.decide("churn-risk", context={"channel": "sdk"})
    assert invalid.value.code == "invalid_argument"
    with Client(gateway.url, "zt_wrong") as stranger, pytest.raises(Unauthorized) as refused:
        stranger.capabilities()
    assert refused.value.code == "unauthorized"


def test_the_async_client_answers_the_same(gateway):
    async def main() -> tuple[Decision, BatchResult, list]:
        async with AsyncClient(gateway.url, gateway.key) as zt:
            single, batch, listed = await asyncio.gather(
                zt.decide("churn-risk", customer_id=KNOWN_IDS[6]),
                zt.decide_batch("churn-risk", [{"customer_id": KNOWN_IDS[6]}, {"customer_id": 1.5}]),
                zt.capabilities(),
            )
            return single, batch, listed

    single, batch, listed = asyncio.run(main())
    assert isinstance(batch[0], Decision) and batch[0].score == single.score
    assert isinstance(batch[1], ItemError) and "decimal" in batch[1].message
    assert [c.name for c in listed] == ["churn-risk"]


class _LoseFirstAnswer(httpx.HTTPTransport):
    """Delivers every request, but loses the first answer on its way back (a dropped connection)."""

    lost = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if self.lost == 0:
            self.lost += 1
            response.read()
            raise httpx.ReadError("connection reset by peer", request=request)
        return response


def test_a_decide_whose_answer_was_lost_is_retried_and_logged_once(gateway):
    mark = marker()
    with Client(gateway.url, gateway.key, transport=_LoseFirstAnswer()) as zt:
        decision = zt.decide("churn-risk", customer_id=KNOWN_IDS[7], context={"mark": mark})
    assert decision.replayed is True  # the gateway had decided; the retry got that decision
    assert [r.id for r in records_marked(gateway, mark)] == [decision.decision_id]


def _httpx_modules() -> set[str]:
    """The top-level modules of httpx and of everything it requires (not its extras)."""
    dists: set[str] = set()
    pending = ["httpx"]
    while pending:
        name = pending.pop().lower().replace("_", "-")
        if name in dists:
            continue
        try:
            needed = requires(name) or []
        except PackageNotFoundError:
            continue  # a requirement for another Python version
        dists.add(name)
        pending += [re.split(r"[\s;<>=!~\[(]", r, maxsplit=1)[0] for r in needed if "extra ==" not in r]
    return {
        module
        for module, owners in packages_distributions().items()
        if any(o.lower().replace("_", "-") in dists for o in owners)
    }


def test_the_sdk_needs_httpx_and_no_server_package(gateway):
    # In a fresh interpreter, every import other than the standard library, httpx (with what it requires)
    # and zhongtai.client fails: the SDK still decides against the gateway.
    script = textwrap.dedent(
        f"""
        import json, sys
        allowed = set({sorted(_httpx_modules())!r}) | set(sys.stdlib_module_names)
        before = set(sys.modules)

        class Block:
            def find_spec(self, name, path=None, target=None):
                top = name.split(".")[0]
                if top == "zhongtai":
                    if name == "zhongtai" or name == "zhongtai.client" or name.startswith("zhongtai.client."):
                        return None
                elif top in allowed:
                    return None
                raise ImportError("blocked: " + name)

        sys.meta_path.insert(0, Block())
        from zhongtai.client import Client

        with Client({gateway.url!r}, {gateway.key!r}) as zt:
            decision = zt.decide("churn-risk", customer_id="1001")
        loaded = sorted({{m.split(".")[0] for m in set(sys.modules) - before}} - set(sys.stdlib_module_names))
        print(json.dumps({{"decision": decision.decision, "loaded": loaded}}))
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script],
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["decision"] in {"retain_offer", "watch", "none"}
    assert "httpx" in out["loaded"] and "zhongtai" in out["loaded"]
    assert not {"fastapi", "starlette", "pydantic", "sqlalchemy", "numpy", "redis"} & set(out["loaded"])
