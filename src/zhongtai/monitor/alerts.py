"""Alerts to the people who run the platform (联合运维): raised by the canary controller, drift checks and
quality floors, deduplicated in the metadata store, grouped by name, sent to every configured receiver, and
followed by a resolved message when the condition clears.

Receivers come from `ZT_ALERT_RECEIVERS`: whitespace-separated `KIND=URL` entries, KIND one of webhook
(generic JSON), alertmanager (the base URL of an Alertmanager), dingtalk, wecom, feishu, slack. A DingTalk or
Feishu robot with a signing secret takes it as a `secret` query parameter of its URL, which is used to sign
and never sent. Sending is synchronous with a short timeout and a few retries: callers raise alerts from
background threads and commands, never from a request's path.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from zhongtai.config import mask_url
from zhongtai.errors import ZhongtaiError
from zhongtai.govern.audit import AuditEntry, AuditKind
from zhongtai.meta.alerts import AlertRow
from zhongtai.meta.store import MetadataStore
from zhongtai.meta.time import now
from zhongtai.monitor.alert_formats import FIRING, FORMATS, RESOLVED, Alert, Notice, delivered, request

log = logging.getLogger(__name__)
DEFAULT_REPEAT = timedelta(hours=4)
ATTEMPTS = 3


@dataclass(frozen=True)
class Receiver:
    """Where messages go: a format and a URL."""

    kind: str
    url: str

    def describe(self) -> str:
        """The receiver as shown to people, its URL's secrets masked."""
        return f"{self.kind}={mask_url(self.url)}"


@dataclass(frozen=True)
class Delivery:
    """One message to one receiver: which alerts, and whether it was taken."""

    receiver: str
    group: str
    status: str
    alerts: int
    ok: bool
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return dict(self.__dict__)


def parse_receivers(text: str) -> list[Receiver]:
    """The receivers of a `ZT_ALERT_RECEIVERS` value; invalid_config naming the entry that is wrong."""
    receivers = []
    for position, entry in enumerate(text.split(), start=1):
        kind, sep, url = entry.partition("=")
        if not sep or kind not in FORMATS or not url.startswith(("http://", "https://")):
            raise ZhongtaiError(
                "invalid_config",
                f"ZT_ALERT_RECEIVERS entry {position} is not KIND=URL with KIND one of {', '.join(FORMATS)} "
                "and an http(s) URL",
                "e.g. ZT_ALERT_RECEIVERS='wecom=https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K'",
            )
        receivers.append(Receiver(kind, url))
    return receivers


class AlertCenter:
    """Raise and resolve alerts: the store says what is news, the receivers are told."""

    def __init__(
        self,
        store: MetadataStore,
        receivers: list[Receiver],
        repeat: timedelta = DEFAULT_REPEAT,
        timeout_s: float = 5.0,
    ) -> None:
        self._store = store
        self.receivers = receivers
        self._repeat = repeat
        self._timeout_s = timeout_s

    @classmethod
    def from_environment(cls, store: MetadataStore, environ: dict[str, str] | None = None) -> AlertCenter:
        """An alert center with the receivers of `ZT_ALERT_RECEIVERS` (none: alerts are only recorded)."""
        import os

        env = os.environ if environ is None else environ
        return cls(store, parse_receivers(env.get("ZT_ALERT_RECEIVERS", "")))

    def fire(self, alerts: Iterable[Alert]) -> list[Delivery]:
        """Record each alert as firing; tell the receivers about those that are news, one message per name."""
        at = now()
        news: list[Notice] = []
        for alert in alerts:
            row, is_news = self._store.alerts.raise_(_fields(alert), at, self._repeat)
            if is_news:
                news.append(Notice(alert, FIRING, row.starts_at))
        return self._send(news)

    def resolve(self, alerts: Iterable[Alert]) -> list[Delivery]:
        """Record each alert (by name and labels) as resolved; tell the receivers about those that fired."""
        at = now()
        notices = [
            Notice(_alert(row), RESOLVED, row.starts_at, row.ends_at)
            for alert in alerts
            if (row := self._store.alerts.resolve(alert.fingerprint, at)) is not None
        ]
        return self._send(notices)

    def resolve_by(self, alert: Alert, principal: str, rule: str) -> tuple[AlertRow | None, list[Delivery]]:
        """Resolve one alert by hand: recorded in the audit log (who, the rule that allowed it, the alert's
        fingerprint and labels) in the transaction of the change; the receivers are told. (None, []) when
        it was not firing."""
        body = {"fingerprint": alert.fingerprint, "name": alert.name, "labels": alert.labels}
        entry = AuditEntry(AuditKind.ALERT_RESOLVE, principal, f"alert {alert.name}", body, rule)
        row = self._store.alerts.resolve(alert.fingerprint, now(), entry)
        if row is None:
            return None, []
        return row, self._send([Notice(_alert(row), RESOLVED, row.starts_at, row.ends_at)])

    def _send(self, notices: list[Notice]) -> list[Delivery]:
        groups: dict[tuple[str, str], list[Notice]] = {}
        for notice in notices:
            groups.setdefault((notice.alert.name, notice.status), []).append(notice)
        deliveries = []
        for (name, status), group in groups.items():
            results = [self._deliver(receiver, name, status, group) for receiver in self.receivers]
            deliveries.extend(results)
            if results and all(d.ok for d in results):
                self._store.alerts.notified([n.alert.fingerprint for n in group], now())
        return deliveries

    def _deliver(self, receiver: Receiver, name: str, status: str, group: list[Notice]) -> Delivery:
        import httpx

        url, body = request(receiver.kind, receiver.url, group)
        error = ""
        for attempt in range(ATTEMPTS):
            try:
                answer = httpx.post(url, json=body, timeout=self._timeout_s)
                parsed = _json(answer)
                if delivered(receiver.kind, answer.status_code, parsed):
                    return Delivery(receiver.describe(), name, status, len(group), True)
                error = f"HTTP {answer.status_code}" + (f" {_code(parsed)}" if _code(parsed) else "")
                if answer.status_code < 500 and answer.status_code != 429:
                    break  # refused for good: retrying sends the same refused message
            except httpx.HTTPError as exc:
                error = type(exc).__name__
            time.sleep(0.2 * 2**attempt)
        log.warning("alert %s (%s) not delivered to %s: %s", name, status, receiver.describe(), error)
        return Delivery(receiver.describe(), name, status, len(group), False, error)

    def listed(self, everything: bool = False) -> list[AlertRow]:
        """The firing alerts (every alert with `everything`), latest first."""
        return self._store.alerts.listed(None if everything else FIRING)


def _fields(alert: Alert) -> dict[str, Any]:
    return {
        "fingerprint": alert.fingerprint,
        "name": alert.name,
        "labels": alert.labels,
        "severity": alert.severity,
        "summary": alert.summary,
        "description": alert.description,
    }


def _alert(row: AlertRow) -> Alert:
    return Alert(row.name, row.labels, row.severity, row.summary, row.description)


def _json(answer: Any) -> Any:
    try:
        return answer.json()
    except ValueError:
        return None


def _code(body: Any) -> str:
    """A chat robot's error code (never its message, which may echo what was sent)."""
    if isinstance(body, dict):
        for key in ("errcode", "code", "StatusCode"):
            if body.get(key) not in (None, 0):
                return f"{key}={body[key]}"
    return ""
