"""What monitoring shows over time, a page at a time: a capability's stored drift checks, the flywheel's runs
with their steps (who, when, why), and alerts, open or resolved; and resolving a firing alert by hand.

Listings filter in the database by the objects the reader may see (`can(action, name, kind)`, the gateway's
policy engine), so a page is whole and its total true. Drift reports and run steps hold names, counts,
measures and times only: no input or feature value of a decision is in them.
"""

from __future__ import annotations

from typing import Any

from zhongtai.errors import ZhongtaiError
from zhongtai.meta.alerts import AlertRow
from zhongtai.meta.flywheel import FlywheelRecords
from zhongtai.meta.store import MetadataStore
from zhongtai.monitor.alert_formats import Alert
from zhongtai.monitor.alerts import AlertCenter
from zhongtai.monitor.overview import Can, alert_body, visible_capabilities

ALERT_STATUSES = ("firing", "resolved")


def drift_history(store: MetadataStore, capability: str, offset: int, limit: int) -> dict[str, Any]:
    """One page of the capability's drift checks, newest first: per check the version, window, verdict and
    every column's PSI, JS distance, effect and verdict; not_found for an unknown capability."""
    store.spec("capabilities", capability)
    reports, total = store.drift.page(capability, offset, limit)
    return {
        "capability": capability,
        "reports": [r.to_dict() for r in reports],
        "total": total,
        "offset": offset,
        "limit": limit,
    }


def flywheel_runs(
    store: MetadataStore, can: Can, capability: str | None, offset: int, limit: int
) -> dict[str, Any]:
    """One page of retrain runs of the models the reader may read (of one capability), newest first, each
    with its steps; not_found for an unknown capability."""
    if capability is not None:
        store.spec("capabilities", capability)
    models = sorted(m for m in store.registered("models") if can("read_models", m, "models"))
    runs, total = FlywheelRecords(store).page(models, capability, offset, limit)
    return {"runs": [r.to_dict() for r in runs], "total": total, "offset": offset, "limit": limit}


def alerts_page(
    store: MetadataStore, can: Can, status: str | None, capability: str | None, offset: int, limit: int
) -> dict[str, Any]:
    """One page of alerts, the latest raised first, about the capabilities the reader may see (a reader of
    every object also sees those about no capability); `status` firing or resolved, None for both."""
    everything = can("read_models", "*", "capabilities")
    if capability is not None:
        store.spec("capabilities", capability)
        scope: list[str] | None = [capability] if can("read_models", capability, "capabilities") else []
        unlabelled = False
    else:
        scope = None if everything else visible_capabilities(store, can)
        unlabelled = everything
    rows, total = store.alerts.page(status, scope, unlabelled, offset, limit)
    return {"alerts": [alert_body(r) for r in rows], "total": total, "offset": offset, "limit": limit}


def missing_alert(fingerprint: str) -> ZhongtaiError:
    """The not_found of a fingerprint no alert has."""
    return ZhongtaiError(
        "not_found", f"no alert {fingerprint}", "GET /v1/alerts lists the alerts with their fingerprints"
    )


def resolve_alert(store: MetadataStore, row: AlertRow, principal: str, rule: str) -> dict[str, Any]:
    """Mark a firing alert resolved by hand (its condition was dealt with), audited with `principal` and the
    policy `rule` that allowed it, and tell the receivers; conflict when it is not firing."""
    alert = Alert(row.name, row.labels, row.severity, row.summary, row.description)
    resolved, deliveries = AlertCenter.from_environment(store).resolve_by(alert, principal, rule)
    if resolved is None:
        raise ZhongtaiError(
            "conflict", f"alert {row.fingerprint} is not firing", "only a firing alert resolves"
        )
    return {"alert": alert_body(resolved), "told": [d.to_dict() for d in deliveries]}
