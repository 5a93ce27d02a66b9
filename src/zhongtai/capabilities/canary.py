"""Canary ramps: one arm's share steps up while its guards hold, and drops to 0 at once when one trips.

The ramp's state (step, since when, status, why) is kept with the capability's live split in the metadata
store, so every gateway process serves the same step and follows a change within its poll interval. Each
process watches its own traffic: `ArmWindow` keeps, per arm, the outcome, decide time and score of recent
requests (appends only, on the request path; nothing else happens there). `CanaryController` judges the
windows every few seconds off the loop (`judge`), and writes a step, a rollback or the completion with a
compare-and-set on the state, so two processes reaching the same verdict record it once. A rollback is
recorded in the change log with its reason and raised as an alert (`CanaryRolledBack`, monitor/alerts.py),
resolved when a later canary of the capability completes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from zhongtai.meta.time import aware, now
from zhongtai.spec.base import duration_seconds
from zhongtai.spec.traffic import CanarySpec, TrafficSpec

if TYPE_CHECKING:
    from zhongtai.capabilities.arms import ArmedRuntime
    from zhongtai.capabilities.serving import Capabilities
    from zhongtai.meta.store import MetadataStore
    from zhongtai.monitor.alerts import AlertCenter

log = logging.getLogger(__name__)

OK, FALLBACK, ERROR = 0, 1, 2
RAMPING, ROLLED_BACK, AWAITING_APPROVAL, PROMOTED = "ramping", "rolled_back", "awaiting_approval", "promoted"
CONTROLLER = "canary-controller"
_PSI_BINS = 10
_WINDOW_LIMIT = 100_000  # requests kept per arm: enough for minutes at thousands per second


@dataclass(frozen=True)
class CanaryState:
    """Where a ramp stands: the step index, since when, and its status with the reason it got there."""

    step: int
    since: datetime
    status: str = RAMPING
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        """The state as stored with the live split."""
        return {**asdict(self), "since": self.since.isoformat()}

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> CanaryState:
        """The state as stored with the live split."""
        return cls(
            int(body["step"]), aware(datetime.fromisoformat(body["since"])), body["status"], body["reason"]
        )


def ramped(policy: TrafficSpec, state: CanaryState | None) -> TrafficSpec:
    """The policy with the arms' weights of the ramp's current step: the canary arm gets the step's percent
    (0 once rolled back), the other arms share the rest in proportion to their declared weights."""
    canary = policy.canary
    if canary is None:
        return policy
    state = state or CanaryState(0, now())
    share = 0.0 if state.status == ROLLED_BACK else canary.steps[min(state.step, len(canary.steps) - 1)]
    others = [a for a in policy.arms if a.name != canary.arm]
    total = sum(a.weight for a in others)
    arms = [
        a.model_copy(update={"weight": share})
        if a.name == canary.arm
        else a.model_copy(update={"weight": (100 - share) * (a.weight / total if total else 1 / len(others))})
        for a in policy.arms
    ]
    return policy.model_copy(update={"arms": arms})


class ArmWindow:
    """Recent requests of one arm: (monotonic time, outcome, decide ms, score). Appends are atomic in
    CPython, so the request path takes no lock."""

    def __init__(self) -> None:
        self._rows: deque[tuple[float, int, float, float]] = deque(maxlen=_WINDOW_LIMIT)

    def record(self, outcome: int, millis: float, score: float | None) -> None:
        """One request's outcome (OK, FALLBACK or ERROR), decide time and score (NaN without one)."""
        self._rows.append((time.monotonic(), outcome, millis, np.nan if score is None else score))

    def recent(self, seconds: float) -> np.ndarray:
        """The rows of the last `seconds` as an array of shape (n, 4)."""
        horizon = time.monotonic() - seconds
        rows = [r for r in list(self._rows) if r[0] >= horizon]
        return np.asarray(rows, dtype=np.float64).reshape(-1, 4)


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of `actual` against `expected`, on deciles of `expected`."""
    edges = np.unique(np.quantile(expected, np.linspace(0, 1, _PSI_BINS + 1)[1:-1]))
    share_expected = np.bincount(np.searchsorted(edges, expected), minlength=len(edges) + 1) / len(expected)
    share_actual = np.bincount(np.searchsorted(edges, actual), minlength=len(edges) + 1) / len(actual)
    floor = 1e-4  # an empty bin on either side must not make the index infinite
    e, a = np.maximum(share_expected, floor), np.maximum(share_actual, floor)
    return float(np.sum((a - e) * np.log(a / e)))


@dataclass(frozen=True)
class Verdict:
    """What the controller does: `hold`, `step`, `rollback` or `complete`, and why."""

    action: str
    reason: str


def judge(canary: CanarySpec, state: CanaryState, windows: dict[str, ArmWindow], at: datetime) -> Verdict:
    """The verdict on a ramping canary from this process's windows: a tripped guard rolls back; a step that
    has held for `step_every` with enough requests moves on (or completes at the last step)."""
    guards = canary.guards
    seconds = duration_seconds(guards.window)
    mine = windows[canary.arm].recent(seconds)
    rest = [w.recent(seconds) for arm, w in windows.items() if arm != canary.arm]
    others = np.concatenate(rest) if rest else np.empty((0, 4))
    count = len(mine)
    if count < guards.min_requests:
        return Verdict(
            "hold", f"{count} canary requests in {guards.window} (judged from {guards.min_requests})"
        )
    errors = float(np.mean(mine[:, 1] == ERROR))
    if errors > guards.max_error_rate:
        return Verdict(
            "rollback", f"error rate {errors:.1%} > {guards.max_error_rate:.1%} over {count} requests"
        )
    fallbacks = float(np.mean(mine[:, 1] == FALLBACK))
    baseline = float(np.mean(others[:, 1] == FALLBACK)) if len(others) else 0.0
    if fallbacks - baseline > guards.max_fallback_increase:
        return Verdict("rollback", f"fallback rate {fallbacks:.1%} against {baseline:.1%} on the other arms")
    served = mine[mine[:, 1] == OK]
    if guards.max_p99_ms is not None and len(served):
        p99 = float(np.percentile(served[:, 2], 99))
        if p99 > guards.max_p99_ms:
            return Verdict("rollback", f"p99 {p99:.1f} ms > {guards.max_p99_ms:g} ms")
    scores, reference = served[:, 3], others[others[:, 1] == OK][:, 3]
    scores, reference = scores[np.isfinite(scores)], reference[np.isfinite(reference)]
    if len(scores) >= guards.min_requests and len(reference) >= guards.min_requests:
        shift = psi(reference, scores)
        if shift > guards.max_score_psi:
            return Verdict(
                "rollback", f"score PSI {shift:.2f} > {guards.max_score_psi:g} against the other arms"
            )
    held = (at - state.since).total_seconds()
    if held < duration_seconds(canary.step_every):
        return Verdict("hold", f"step {state.step + 1} held {held:.0f} s of {canary.step_every}")
    if state.step + 1 < len(canary.steps):
        return Verdict("step", f"guards held for {canary.step_every} over {count} requests")
    return Verdict("complete", f"last step held for {canary.step_every} over {count} requests")


def advance(
    store: MetadataStore, runtime: ArmedRuntime, at: datetime, alerts: AlertCenter | None = None
) -> Verdict | None:
    """Judge one capability's canary and record the verdict (compare-and-set on its state); None when it is
    not ramping here."""
    policy, state, windows = runtime.policy, runtime.canary_state, runtime.windows
    if policy.canary is None or state is None or windows is None or state.status != RAMPING:
        return None
    verdict = judge(policy.canary, state, windows, at)
    if verdict.action == "hold":
        return verdict
    if verdict.action == "rollback":
        new = replace(state, since=at, status=ROLLED_BACK, reason=verdict.reason)
        log.warning("canary %s of %s rolled back: %s", policy.canary.arm, runtime.name, verdict.reason)
    elif verdict.action == "step":
        new = CanaryState(state.step + 1, at, RAMPING, verdict.reason)
    elif policy.canary.complete == "promote":
        _promote(store, runtime, policy.canary.arm, verdict.reason)
        new = replace(state, since=at, status=PROMOTED, reason=verdict.reason)
    else:
        new = replace(state, since=at, status=AWAITING_APPROVAL, reason=verdict.reason)
    moved = store.traffic.set(
        runtime.name,
        runtime.policy_body,
        CONTROLLER,
        verdict.reason,
        action=f"canary_{verdict.action}",
        state=new.to_json(),
        expected_state=state.to_json(),
    )
    # Only the process whose compare-and-set won tells people; the others saw the same verdict.
    if moved is not None and alerts is not None and verdict.action in ("rollback", "complete"):
        _alert(alerts, runtime.name, policy.canary.arm, verdict)
    return verdict


def _alert(alerts: AlertCenter, capability: str, arm: str, verdict: Verdict) -> None:
    from zhongtai.monitor.alert_rules import canary_alert

    try:
        if verdict.action == "rollback":
            alerts.fire([canary_alert(capability, arm, verdict.reason)])
        else:
            alerts.resolve([canary_alert(capability, arm)])
    except Exception:  # the ramp is decided and recorded; a failing alert store must not undo that
        log.exception("canary %s of %s: the alert could not be recorded", arm, capability)


def _promote(store: MetadataStore, runtime: ArmedRuntime, arm: str, reason: str) -> None:
    from zhongtai.models import aliases

    version = next(r.model_version for a, r in runtime.arms if a.name == arm)
    if version is not None:
        aliases.move(
            store, runtime.spec.model, version, "champion", CONTROLLER, f"canary completed: {reason}"
        )


class CanaryController:
    """Judges every ramping canary of the loaded capabilities every `interval` seconds, in a daemon thread."""

    def __init__(
        self,
        capabilities: Capabilities,
        store: MetadataStore,
        interval: float = 2.0,
        alerts: AlertCenter | None = None,
    ) -> None:
        self._capabilities = capabilities
        self._store = store
        self._alerts = alerts
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="zhongtai-canary", daemon=True)

    def start(self) -> CanaryController:
        """Start judging."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop judging; a verdict being recorded finishes first."""
        self._stop.set()
        self._thread.join(timeout=10)

    def check(self) -> dict[str, Verdict]:
        """One round over the loaded capabilities; returns the verdicts that were not `hold`."""
        found = {}
        for runtime in self._capabilities.runtimes():
            try:
                verdict = advance(self._store, runtime, now(), self._alerts)
            except Exception:
                log.exception(
                    "canary of %s: the verdict could not be recorded; judged again next round", runtime.name
                )
                continue
            if verdict is not None and verdict.action != "hold":
                found[runtime.name] = verdict
        return found

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.check()
