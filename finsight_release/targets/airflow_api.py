"""A small client of Airflow 2's stable REST API (``/api/v1``), the calls a deploy needs.

Basic auth (``[api] auth_backends = airflow.api.auth.backend.basic_auth``), JSON in and out, a
timeout on every call. Every failure is one :class:`~finsight_release.errors.AirflowApiError` line
naming the URL and the cause: unreachable, no answer within the timeout, 401 (credentials
refused), 403 (the user lacks the permission), or another status with Airflow's ``detail``.
Nothing here retries: the caller decides how long it waits for Airflow to catch up.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from finsight_release.errors import AirflowApiError
from finsight_release.one_line import one_line

PAGE = 100  # Airflow's default maximum_page_limit


@dataclass(frozen=True)
class AirflowEndpoint:
    """Where one environment's Airflow webserver answers, and the user a deploy acts as."""

    url: str
    username: str
    password: str
    timeout_s: float = 10.0

    def __repr__(self) -> str:  # never print the password
        return f"AirflowEndpoint(url={self.url!r}, username={self.username!r})"


def parse_time(text: str | None) -> datetime | None:
    """An ISO 8601 timestamp from the API (with offset), or None."""
    return datetime.fromisoformat(text) if text else None


class AirflowApi:
    """The REST calls of a deploy against one Airflow."""

    def __init__(self, endpoint: AirflowEndpoint) -> None:
        self.endpoint = endpoint
        token = base64.b64encode(f"{endpoint.username}:{endpoint.password}".encode()).decode()
        self._auth = f"Basic {token}"

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """``method`` on ``/api/v1/<path>``; the decoded JSON answer, or one AirflowApiError line."""
        url = self.endpoint.url.rstrip("/") + "/api/v1/" + path.lstrip("/")
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Authorization", self._auth)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=self.endpoint.timeout_s) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise AirflowApiError(self._status_line(method, url, exc)) from None
        except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as exc:
            if isinstance(exc, TimeoutError):
                # Asked but not answered (urllib wraps connect failures in URLError): an overloaded
                # webserver or a locked metadata database, not a wrong address.
                raise AirflowApiError(
                    f"Airflow API {self.endpoint.url} did not answer {method} {path} within "
                    f"{self.endpoint.timeout_s:g} s"
                ) from None
            reason = getattr(exc, "reason", exc)
            raise AirflowApiError(
                f"Airflow API {self.endpoint.url} unreachable ({method} {path}): {one_line(reason)}"
            ) from None
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            raise AirflowApiError(
                f"Airflow API {url} answered something that is not JSON: {one_line(raw[:120])}"
            ) from None

    def _status_line(self, method: str, url: str, exc: urllib.error.HTTPError) -> str:
        try:
            detail = one_line(json.loads(exc.read() or b"{}").get("detail") or "", 200)
        except (ValueError, AttributeError, OSError):
            detail = ""
        if exc.code == 401:
            return (
                f"Airflow API {self.endpoint.url} refused the credentials of user "
                f"{self.endpoint.username!r} (401 Unauthorized)"
            )
        if exc.code == 403:
            return (
                f"Airflow API {self.endpoint.url}: user {self.endpoint.username!r} may not "
                f"{method} {urllib.parse.urlsplit(url).path} (403 Forbidden)"
            )
        return f"Airflow API {method} {url} failed: {exc.code} {exc.reason}" + (
            f": {detail}" if detail else ""
        )

    # -- the calls ---------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """``/health`` (no auth needed in Airflow, but the same client)."""
        return dict(self.request("GET", "health"))

    def check_access(self) -> None:
        """Reachable, the credentials accepted and DAGs readable: one cheap authenticated call."""
        self.request("GET", "dags?limit=1&only_active=false")

    def dags(self, only_active: bool = True) -> list[dict[str, Any]]:
        """Every DAG Airflow has registered (paged)."""
        found: list[dict[str, Any]] = []
        while True:
            page = self.request(
                "GET",
                f"dags?limit={PAGE}&offset={len(found)}&only_active={str(only_active).lower()}",
            )
            found += page["dags"]
            if not page["dags"] or len(found) >= page["total_entries"]:
                return found

    def dag(self, dag_id: str) -> dict[str, Any]:
        return dict(self.request("GET", f"dags/{urllib.parse.quote(dag_id)}"))

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self.request(
            "PATCH",
            f"dags/{urllib.parse.quote(dag_id)}?update_mask=is_paused",
            {"is_paused": paused},
        )

    def import_errors(self) -> list[dict[str, Any]]:
        """Every import error (``filename``, ``timestamp``, ``stack_trace``), paged."""
        found: list[dict[str, Any]] = []
        while True:
            page = self.request("GET", f"importErrors?limit={PAGE}&offset={len(found)}")
            found += page["import_errors"]
            if not page["import_errors"] or len(found) >= page["total_entries"]:
                return found

    def dag_source(self, file_token: str) -> str:
        """The source Airflow stored for a DAG file (``dag_code``), by the DAG's ``file_token``."""
        url_path = f"dagSources/{urllib.parse.quote(file_token)}"
        answer = self.request("GET", url_path)
        return str(answer["content"]) if isinstance(answer, dict) else str(answer)

    def request_parse(self, file_token: str) -> None:
        """Ask the DAG processor to parse a known DAG file next (Airflow >= 2.10)."""
        self.request("PUT", f"parseDagFile/{urllib.parse.quote(file_token)}")

    def dag_runs(self, dag_id: str, states: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        query = "&".join(f"state={s}" for s in states)
        path = f"dags/{urllib.parse.quote(dag_id)}/dagRuns?limit={PAGE}&order_by=-execution_date"
        return list(self.request("GET", path + (f"&{query}" if query else ""))["dag_runs"])

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        path = f"dags/{urllib.parse.quote(dag_id)}/dagRuns/{urllib.parse.quote(run_id)}"
        return dict(self.request("GET", path))

    def trigger(
        self, dag_id: str, run_id: str, conf: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return dict(
            self.request(
                "POST",
                f"dags/{urllib.parse.quote(dag_id)}/dagRuns",
                {"dag_run_id": run_id, "conf": conf or {}},
            )
        )

    def set_run_state(self, dag_id: str, run_id: str, state: str) -> None:
        path = f"dags/{urllib.parse.quote(dag_id)}/dagRuns/{urllib.parse.quote(run_id)}"
        self.request("PATCH", path, {"state": state})

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        path = (
            f"dags/{urllib.parse.quote(dag_id)}/dagRuns/{urllib.parse.quote(run_id)}/taskInstances"
        )
        return list(self.request("GET", path)["task_instances"])

    def create_connection(self, conn_id: str, conn_type: str, **fields: Any) -> None:
        self.request(
            "POST", "connections", {"connection_id": conn_id, "conn_type": conn_type, **fields}
        )
