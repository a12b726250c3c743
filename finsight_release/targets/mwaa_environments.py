"""Which environments deploy their Airflow to MWAA, read from the platform tree's env configs.

An environment whose ``release_assets/config/<env>.yaml`` says ``airflow.target: mwaa`` names its
MWAA environment (``mwaa_environment``) and the bucket prefix MWAA reads its DAGs from
(``dags_s3_uri``, e.g. ``s3://finsight-prod-airflow/dags/``); requirements and plugins live at the
bucket's ``requirements.txt`` and ``plugins.zip``. Such a config is validated whole
(:func:`load_platform_config`); any other config (``local``, ``ecs``, none at all) is not MWAA's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from finsight_release.envs.environment import Environment
from finsight_release.envs.platform_config import load_platform_config
from finsight_release.errors import ConfigError
from finsight_release.targets.base import Target
from finsight_release.targets.mwaa import DAGS, PLUGINS, REQUIREMENTS, MwaaEnvironment, MwaaTarget
from finsight_release.targets.routed import RoutedTarget

AIRFLOW_NAMES = frozenset({DAGS, REQUIREMENTS, PLUGINS})  # what MWAA deploys in its environments
CONFIG_DIR = "release_assets/config"


@dataclass(frozen=True)
class MwaaPlacement:
    """Where one environment's Airflow lives on MWAA."""

    environment: MwaaEnvironment
    region: str


def _says_mwaa(path: Path) -> bool:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False  # not MWAA's to judge: validation reports an unreadable config
    airflow = data.get("airflow") if isinstance(data, dict) else None
    return isinstance(airflow, dict) and airflow.get("target") == "mwaa"


def mwaa_placements(platform: Path) -> dict[Environment, MwaaPlacement]:
    """Each environment whose config in ``platform`` says ``airflow.target: mwaa``, with its MWAA
    environment and bucket; a ConfigError names the file and what is missing."""
    found = {}
    for env in Environment:
        path = Path(platform) / CONFIG_DIR / f"{env}.yaml"
        if not path.is_file() or not _says_mwaa(path):
            continue
        config = load_platform_config(path)
        name, uri = config.airflow.mwaa_environment, config.airflow.dags_s3_uri or ""
        if not name:
            raise ConfigError(f"{path}: airflow.mwaa_environment: required when target is mwaa")
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        if not uri.startswith("s3://") or not bucket:
            raise ConfigError(
                f"{path}: airflow.dags_s3_uri: expected s3://<bucket>/<prefix>/ for MWAA, "
                f"got {uri!r}"
            )
        prefix = prefix.strip("/") + "/" if prefix.strip("/") else "dags/"
        found[env] = MwaaPlacement(MwaaEnvironment(name, bucket, prefix), config.aws.region)
    return found


def open_mwaa_target(
    placements: Mapping[Environment, MwaaPlacement], s3: Any = None, mwaa: Any = None
) -> MwaaTarget:
    """The MWAA target of ``placements``, with boto3 clients in their region (one region per
    installation: MWAA's API is regional). boto3 finds credentials and endpoints as usual."""
    regions = {p.region for p in placements.values()}
    if len(regions) != 1:
        raise ConfigError(
            f"MWAA environments span regions {sorted(regions)}; one installation serves one region"
        )
    if s3 is None or mwaa is None:
        import boto3

        [region] = regions
        s3 = s3 or boto3.client("s3", region_name=region)
        mwaa = mwaa or boto3.client("mwaa", region_name=region)
    return MwaaTarget({env: p.environment for env, p in placements.items()}, s3, mwaa)


def route_airflow(mwaa: MwaaTarget, folder: Target) -> list[RoutedTarget]:
    """MWAA takes the Airflow artifacts of its environments, ``folder`` everything else: each
    environment's DAG bundle, requirements and plugins land in exactly one place."""

    def on_mwaa(env: Environment, name: str) -> bool:
        return env in mwaa.environments and name in AIRFLOW_NAMES

    return [
        RoutedTarget(mwaa, on_mwaa),
        RoutedTarget(folder, lambda env, name: not on_mwaa(env, name)),
    ]
