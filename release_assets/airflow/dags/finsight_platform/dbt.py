"""dbt runs as ECS tasks: the dbt image runs the command; Airflow only starts it and streams its logs.

Why ECS and not a BashOperator: dbt-core's dependency pins conflict with Airflow's (and MWAA's) constraint
set, and a dbt run needs more memory than an MWAA worker slot. The image tag is a Variable, so a release
can roll the dbt project forward or back without touching the DAGs.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.operators.ecs import EcsRunTaskOperator

from finsight_platform.defaults import AWS_CONN_ID

DBT_CONTAINER = "dbt"
DBT_TASK_DEFINITION = "{{ var.value.finsight_dbt_task_definition }}"


def dbt_command(*args: str) -> list[str]:
    """A dbt CLI invocation against the environment's target, with the run's interval as vars."""
    return [
        "dbt",
        *args,
        "--target",
        "{{ var.value.finsight_dbt_target }}",
        "--vars",
        '{"run_start": "{{ data_interval_start }}", "run_end": "{{ data_interval_end }}"}',
    ]


def dbt_task(task_id: str, *args: str, **kwargs: Any) -> EcsRunTaskOperator:
    """An ECS task running ``dbt <args>`` in the dbt container; logs go to the Airflow task log."""
    return EcsRunTaskOperator(
        task_id=task_id,
        aws_conn_id=AWS_CONN_ID,
        cluster="{{ var.value.finsight_ecs_cluster }}",
        task_definition=DBT_TASK_DEFINITION,
        # EC2 capacity with bridge networking: no per-run subnet list, which Jinja could only render as a
        # string (native rendering would also turn the --vars JSON into a dict).
        launch_type="EC2",
        overrides={"containerOverrides": [{"name": DBT_CONTAINER, "command": dbt_command(*args)}]},
        awslogs_group="/finsight/dbt",
        awslogs_stream_prefix=f"ecs/{DBT_CONTAINER}",
        **kwargs,
    )
