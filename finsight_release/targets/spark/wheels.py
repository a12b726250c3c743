"""Each Spark job's wheel, built once per job digest and kept in the release store.

A wheel is built from the artifact's own files (materialized from the store, so exactly what the
release ships) with the build backend its pyproject declares, by validation's builder
(:func:`~finsight_release.validate.tools.wheel_build.build_wheels`). The result is stored at
``spark-wheels/<artifact digest>/<wheel file>`` create-only: the next environment, a rollback or a
retried deploy of the same job version downloads it instead of building again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from finsight_release.errors import StoreAddressError, StoreUnavailableError
from finsight_release.one_line import one_line
from finsight_release.store.base import ObjectStore
from finsight_release.validate.spark.job_spec import SparkJobSpec
from finsight_release.validate.tools.wheel_build import build_wheels

WHEELS_PREFIX = "spark-wheels"


@dataclass(frozen=True)
class JobWheel:
    """A job's wheel on local disk, or why there is none."""

    wheel: Path | None
    problem: str | None = None
    built: bool = False  # False: reused from the store


def cached_wheel(store: ObjectStore, digest: str, dest: Path) -> Path | None:
    """The stored wheel of job version ``digest`` written under ``dest``, or None when never built."""
    keys = [k for k in store.list(f"{WHEELS_PREFIX}/{digest}/") if k.endswith(".whl")]
    if not keys:
        return None
    obj = store.get(keys[0])
    if obj is None:
        return None
    path = dest / keys[0].rsplit("/", 1)[-1]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(obj.data)
    return path


def job_wheels(
    store: ObjectStore, specs: dict[str, tuple[str, SparkJobSpec]], python: Path, work: Path
) -> dict[str, JobWheel]:
    """``job -> JobWheel`` for ``specs`` (``job -> (artifact digest, spec)``): reused when stored,
    else built with ``python`` (the runtime's interpreter) and stored."""
    wheels: dict[str, JobWheel] = {}
    missing = {}
    for job, (digest, spec) in specs.items():
        try:
            cached = cached_wheel(store, digest, work / "cached" / job)
        except (StoreUnavailableError, StoreAddressError):
            cached = None  # a cache that cannot be read only costs a build
        if cached is not None:
            wheels[job] = JobWheel(cached)
        else:
            missing[job] = (spec.root, spec.build_system)
    if not missing:
        return wheels
    (work / "build").mkdir(parents=True, exist_ok=True)
    for job, outcome in build_wheels(missing, work / "build", python, workers=2).items():
        if outcome.wheel is None:
            wheels[job] = JobWheel(None, f"does not build: {one_line(outcome.error, 300)}")
            continue
        digest = specs[job][0]
        sha = hashlib.sha256(outcome.wheel.read_bytes()).hexdigest()
        store.put_file(f"{WHEELS_PREFIX}/{digest}/{outcome.wheel.name}", outcome.wheel, sha)
        wheels[job] = JobWheel(outcome.wheel, built=True)
    return wheels
