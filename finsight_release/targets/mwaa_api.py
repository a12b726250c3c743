"""The Airflow REST calls of a deploy, carried by MWAA's ``invoke_rest_api`` (the Airflow REST API
through IAM): the same :class:`AirflowApi` methods (DAGs, runs, triggers, task instances) against an
MWAA environment, so the health reading and the start SLA's smoke runs are one code path for both."""

from __future__ import annotations

import urllib.parse
from typing import Any

from botocore.exceptions import ClientError

from finsight_release.errors import AirflowApiError
from finsight_release.one_line import one_line
from finsight_release.targets.airflow_api import AirflowApi, AirflowEndpoint


class MwaaAirflowApi(AirflowApi):
    """:class:`AirflowApi` over ``invoke_rest_api`` of the MWAA environment ``name``."""

    def __init__(self, mwaa: Any, name: str) -> None:
        self.mwaa = mwaa
        self.name = name
        self.endpoint = AirflowEndpoint(f"mwaa:{name}", "", "")  # how messages name it

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """``method`` on ``path`` (its query string as ``QueryParameters``); the decoded answer, or
        one AirflowApiError line (a refused call, or Airflow's non-2xx status)."""
        split = urllib.parse.urlsplit("/" + path.lstrip("/"))
        params: dict[str, Any] = {"Name": self.name, "Path": split.path, "Method": method}
        query = dict(urllib.parse.parse_qsl(split.query))
        if query:
            params["QueryParameters"] = query
        if body is not None:
            params["Body"] = body
        try:
            answer = self.mwaa.invoke_rest_api(**params)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise AirflowApiError(
                f"MWAA {self.name}: invoke_rest_api {method} {split.path} refused: "
                f"{error.get('Code', '?')}: {one_line(error.get('Message', ''), 200)}"
            ) from None
        status = int(answer["RestApiStatusCode"])
        if not 200 <= status < 300:
            raise AirflowApiError(
                f"MWAA {self.name}: Airflow answered {status} to {method} {split.path}"
            )
        return answer.get("RestApiResponse")
