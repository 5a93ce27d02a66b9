"""Which conditions raise which alerts: a drifted feature (`FeatureDrift`, one alert per capability, version
and feature, resolved when a later check finds it back in line) and a canary rolled back by its guard
(`CanaryRolledBack`, resolved when a canary of that capability completes)."""

from __future__ import annotations

from zhongtai.monitor.alert_formats import Alert
from zhongtai.monitor.check import VersionDrift

FEATURE_DRIFT = "FeatureDrift"
CANARY_ROLLED_BACK = "CanaryRolledBack"


def drift_alerts(capability: str, found: list[VersionDrift]) -> tuple[list[Alert], list[Alert]]:
    """(alerts to fire, alerts to resolve) from one drift check of a capability: every compared column of
    every version with a report is one or the other."""
    firing: list[Alert] = []
    cleared: list[Alert] = []
    for version in found:
        if version.report is None:
            continue
        for result in version.report.results:
            labels = {
                "capability": capability,
                "model": version.model_name,
                "version": str(version.model_version),
                "feature": str(result["name"]),
            }
            drifted = result["verdict"] in ("drift", "major")
            alert = Alert(
                FEATURE_DRIFT,
                labels,
                "critical" if result["verdict"] == "major" else "warning",
                f"{capability}: {result['name']} drifted ({result['verdict']}, effect {result['effect']:.3f})"
                if drifted
                else f"{capability}: {result['name']} back in line",
                f"`zhongtai monitor drift {capability}` shows every feature against training",
            )
            (firing if drifted else cleared).append(alert)
    return firing, cleared


def canary_alert(capability: str, arm: str, reason: str = "") -> Alert:
    """The alert of a canary rolled back by a guard (its labels identify it when it is resolved)."""
    return Alert(
        CANARY_ROLLED_BACK,
        {"capability": capability, "arm": arm},
        "warning",
        f"{capability}: canary {arm} rolled back" + (f" ({reason})" if reason else ""),
        f"`zhongtai capabilities traffic {capability}` shows the ramp and why",
    )
