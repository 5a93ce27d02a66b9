"""Alert messages in each receiver's format: generic JSON, Alertmanager, DingTalk, WeCom, Feishu, Slack.

A message is one group: the alerts of one name sent together (a drift check that flags seven features sends
one message, not seven), firing or resolved. Alerts carry only names, labels (capabilities, arms, views,
features) and reasons, never a value of a decision's inputs or features.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

FORMATS = ("webhook", "alertmanager", "dingtalk", "wecom", "feishu", "slack")
FIRING, RESOLVED = "firing", "resolved"


@dataclass(frozen=True)
class Alert:
    """Something that needs a person: a name (`CanaryRolledBack`), labels saying where, a severity and text.
    The same name and labels are the same alert (its fingerprint), however often it is raised."""

    name: str
    labels: dict[str, str] = field(default_factory=dict)
    severity: str = "warning"
    summary: str = ""
    description: str = ""

    @property
    def fingerprint(self) -> str:
        """What makes two raised alerts one: the name and the labels."""
        body = self.name + "\x00" + "\x00".join(f"{k}={v}" for k, v in sorted(self.labels.items()))
        return hashlib.sha256(body.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Notice:
    """One alert as a message shows it: firing or resolved, since when (and until when)."""

    alert: Alert
    status: str
    starts_at: datetime
    ends_at: datetime | None = None


def request(kind: str, url: str, notices: list[Notice]) -> tuple[str, dict[str, Any] | list[Any]]:
    """The URL to post to and the JSON body, for a receiver of `kind` given its configured URL."""
    if kind == "alertmanager":
        return url.rstrip("/") + "/api/v2/alerts", [_alertmanager(n) for n in notices]
    if kind == "dingtalk":
        target, secret = _without_secret(url)
        if secret:  # a robot with 加签: timestamp and signature in the query
            stamp = str(int(time.time() * 1000))
            signed = hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
            target = _with_query(target, {"timestamp": stamp, "sign": base64.b64encode(signed).decode()})
        return target, {
            "msgtype": "markdown",
            "markdown": {"title": _title(notices), "text": _markdown(notices)},
        }
    if kind == "wecom":
        return url, {"msgtype": "markdown", "markdown": {"content": _markdown(notices)}}
    if kind == "feishu":
        target, secret = _without_secret(url)
        body: dict[str, Any] = {"msg_type": "text", "content": {"text": _plain(notices)}}
        if secret:  # a bot with signature verification: timestamp and signature in the body
            stamp = str(int(time.time()))
            signed = hmac.new(f"{stamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
            body |= {"timestamp": stamp, "sign": base64.b64encode(signed).decode()}
        return target, body
    if kind == "slack":
        return url, {
            "text": _title(notices),
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": _markdown(notices, slack=True)}}
            ],
        }
    return url, {
        "source": "zhongtai",
        "status": _status(notices),
        "group": notices[0].alert.name,
        "alerts": [_generic(n) for n in notices],
    }


def delivered(kind: str, status: int, body: Any) -> bool:
    """Whether a receiver took the message: a 2xx, and for the chat robots (which answer 200 to refusals) an
    `errcode`/`code` of 0 in the body."""
    if not 200 <= status < 300:
        return False
    if kind in ("dingtalk", "wecom") and isinstance(body, dict):
        return body.get("errcode", 0) == 0
    if kind == "feishu" and isinstance(body, dict):
        return body.get("code", body.get("StatusCode", 0)) == 0
    return True


def _status(notices: list[Notice]) -> str:
    return FIRING if any(n.status == FIRING for n in notices) else RESOLVED


def _title(notices: list[Notice]) -> str:
    first = notices[0].alert
    count = f" ({len(notices)})" if len(notices) > 1 else ""
    return f"[{_status(notices).upper()}] {first.name}{count}"


def _where(alert: Alert) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items()))


def _markdown(notices: list[Notice], slack: bool = False) -> str:
    bold = "*" if slack else "**"
    lines = [f"{bold}{_title(notices)}{bold}"]
    for n in notices:
        state = "resolved" if n.status == RESOLVED else n.alert.severity
        lines.append(f"- {state}: {n.alert.summary or n.alert.name} ({_where(n.alert)})")
        if n.alert.description:
            lines.append(f"  {n.alert.description}")
    return "\n".join(lines)


def _plain(notices: list[Notice]) -> str:
    return _markdown(notices).replace("**", "")


def _generic(n: Notice) -> dict[str, Any]:
    return {
        "name": n.alert.name,
        "status": n.status,
        "severity": n.alert.severity,
        "labels": n.alert.labels,
        "summary": n.alert.summary,
        "description": n.alert.description,
        "fingerprint": n.alert.fingerprint,
        "starts_at": n.starts_at.isoformat(),
        "ends_at": n.ends_at.isoformat() if n.ends_at else None,
    }


def _alertmanager(n: Notice) -> dict[str, Any]:
    body: dict[str, Any] = {
        "labels": {"alertname": n.alert.name, "severity": n.alert.severity, **n.alert.labels},
        "annotations": {"summary": n.alert.summary, "description": n.alert.description},
        "startsAt": n.starts_at.isoformat(),
    }
    if n.ends_at is not None:  # Alertmanager resolves an alert whose end is in the past
        body["endsAt"] = n.ends_at.isoformat()
    return body


def _without_secret(url: str) -> tuple[str, str]:
    """The URL without its `secret` query parameter (ours, never sent), and the secret."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    secret = next((v for k, v in query if k == "secret"), "")
    kept = urlencode([(k, v) for k, v in query if k != "secret"])
    return urlunsplit(parts._replace(query=kept)), secret


def _with_query(url: str, extra: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(extra.items())
    return urlunsplit(parts._replace(query=urlencode(query)))
