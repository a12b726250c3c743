"""Alert notifications: a Slack-compatible incoming webhook (``{"text": ...}`` POSTed as JSON).

Sending never raises and never blocks for long: a few attempts with short timeouts and a short
backoff, then a warning in the JSON log. An alert is a side note to an operation (a diagnosis, a
rollback), never a condition of it: a webhook that is down must not stop a rollback.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

from finsight_release.observe.logging import get_logger
from finsight_release.one_line import one_line


@dataclass(frozen=True)
class Alert:
    """What went wrong, where, and why: the release, the failing layer and the diagnosis."""

    title: str
    release_id: str | None = None
    environment: str | None = None
    layer: str | None = None
    diagnosis: str | None = None
    explanation: str | None = None
    ids: dict[str, str] = field(default_factory=dict)

    def text(self) -> str:
        """The message: one title line, then one line per known fact."""
        facts = [
            ("release", self.release_id),
            ("environment", self.environment),
            ("failing layer", self.layer),
            ("diagnosis", self.diagnosis),
            ("why", one_line(self.explanation, 300) if self.explanation else None),
            *sorted(self.ids.items()),
        ]
        return "\n".join([f":rotating_light: {self.title}"] + [f"{k}: {v}" for k, v in facts if v])


@dataclass(frozen=True)
class WebhookAlerts:
    """Posts alerts to ``url`` (None: alerts are only logged)."""

    url: str | None
    attempts: int = 3
    timeout_s: float = 3.0
    backoff_s: float = 0.2

    def send(self, alert: Alert) -> bool:
        """Deliver ``alert``; True when the webhook answered 2xx, False (logged) otherwise."""
        log = get_logger("finsight_release.alerts")
        if not self.url:
            log.info("alert", title=alert.title, delivered=False, reason="no webhook configured")
            return False
        body = json.dumps({"text": alert.text()}).encode()
        problem = ""
        for attempt in range(1, self.attempts + 1):
            request = urllib.request.Request(
                self.url, data=body, headers={"Content-Type": "application/json"}, method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310 - an operator-set URL
                    if 200 <= response.status < 300:
                        log.info("alert", title=alert.title, delivered=True, attempts=attempt)
                        return True
                    problem = f"HTTP {response.status}"
            except urllib.error.HTTPError as exc:
                problem = f"HTTP {exc.code}"
            except (urllib.error.URLError, OSError, ValueError) as exc:
                problem = one_line(getattr(exc, "reason", None) or exc, 200)
            if attempt < self.attempts:
                time.sleep(self.backoff_s * attempt)
        log.warning(
            "alert not delivered",
            title=alert.title,
            webhook=urllib.parse.urlsplit(self.url).netloc,  # the path of a webhook is its secret
            attempts=self.attempts,
            problem=problem,
        )
        return False
