"""A consumer service run locally: N task processes of one version of a consumer's code.

The service's directory holds ``state.json`` (the live version, its code directory and the task
pids) and ``tasks/<task id>.json``, the health each task writes as it runs. Tasks run in their own
session, so they outlive the deploy that started them, as an ECS service's tasks do; ``stop`` ends
them by pid (SIGTERM: a task finishes its batch, commits its offsets and exits).

Each task has a slot (0 .. desired count - 1) and consumes that slot's fixed share of the topic's
partitions (the consumer's ``assign()``, no group membership): a replacement or a new version's task
takes the slot of the one it replaces, so no partition ever moves between running tasks.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from finsight_release.targets.streaming.service_spec import ServiceSpec

# A task that has not reported for this long is not healthy, whatever it last said.
HEALTH_STALE_S = 5.0
STOP_WAIT_S = 10.0


@dataclass(frozen=True)
class TaskHandle:
    """One running task: its id, process id, the version it runs and its slot (partition share)."""

    task_id: str
    pid: int
    version: str
    slot: int = 0


@dataclass
class ServiceState:
    """What the service runs: its version, the code directory and the tasks."""

    version: str = ""
    code_dir: str = ""
    tasks: list[TaskHandle] = field(default_factory=list)


# Tasks this process started, so their exit status is reaped (no zombie counts as alive).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def is_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie does not)."""
    child = _CHILDREN.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


class LocalConsumerService:
    """The task processes of one consumer service in one environment."""

    def __init__(self, root: Path, spec: ServiceSpec, bootstrap: str, sink_path: Path) -> None:
        self.root = Path(root)
        self.spec = spec
        self.bootstrap = bootstrap
        self.sink_path = Path(sink_path)

    @property
    def name(self) -> str:
        return self.spec.service

    @property
    def state_path(self) -> Path:
        return self.root / "state.json"

    def health_path(self, task_id: str) -> Path:
        return self.root / "tasks" / f"{task_id}.json"

    def read_state(self) -> ServiceState:
        """The recorded state (empty when the service never ran)."""
        if not self.state_path.is_file():
            return ServiceState()
        body = json.loads(self.state_path.read_text())
        tasks = [TaskHandle(**t) for t in body.get("tasks", [])]
        return ServiceState(body.get("version", ""), body.get("code_dir", ""), tasks)

    def write_state(self, state: ServiceState) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_name(f".state.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(asdict(state), sort_keys=True))
        os.replace(tmp, self.state_path)

    def start_task(self, version: str, code_dir: Path, slot: int) -> TaskHandle:
        """Start one task of ``version`` running the consumer in ``code_dir``, owning the partitions
        of ``slot`` (of the spec's desired count)."""
        task_id = f"{self.name}-{version[:8]}-{uuid.uuid4().hex[:6]}"
        health = self.health_path(task_id)
        health.parent.mkdir(parents=True, exist_ok=True)
        self.sink_path.parent.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "FINSIGHT_KAFKA_BOOTSTRAP": self.bootstrap,
            "FINSIGHT_TOPIC": self.spec.topic,
            "FINSIGHT_GROUP_ID": self.spec.group_id,
            "FINSIGHT_SINK_PATH": str(self.sink_path),
            "FINSIGHT_SINK_TABLE": self.spec.sink_table,
            "FINSIGHT_HEALTH_FILE": str(health),
            "FINSIGHT_TASK_ID": task_id,
            "FINSIGHT_CONSUMER_VERSION": version,
            "FINSIGHT_TASK_SLOT": str(slot),
            "FINSIGHT_TASK_COUNT": str(self.spec.desired_count),
        }
        log = (self.root / "tasks" / f"{task_id}.log").open("wb")
        child = subprocess.Popen(
            [sys.executable, str(Path(code_dir) / self.spec.entry_point)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        _CHILDREN[child.pid] = child
        return TaskHandle(task_id, child.pid, version, slot)

    def is_healthy(self, task: TaskHandle) -> bool:
        """Running, its partitions assigned at the group's committed offsets and fetching (the task
        says ``consuming`` once a fetch came back), and reported within the last few seconds."""
        if not is_alive(task.pid):
            return False
        try:
            health = json.loads(self.health_path(task.task_id).read_text())
        except (OSError, ValueError):
            return False
        fresh = time.time() - float(health.get("last_poll", 0)) < HEALTH_STALE_S
        return bool(health.get("state") == "consuming" and fresh)

    def last_event_at(self) -> float | None:
        """The latest time any task of the service reported consuming an event."""
        times = []
        for path in (self.root / "tasks").glob("*.json"):
            try:
                value = json.loads(path.read_text()).get("last_event_at")
            except (OSError, ValueError):
                continue
            if value is not None:
                times.append(float(value))
        return max(times, default=None)

    def last_words(self, task: TaskHandle) -> str:
        """The last line a dead task wrote (its crash reason), for the error that reports it."""
        path = self.root / "tasks" / f"{task.task_id}.log"
        try:
            lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
        except OSError:
            return "no output"
        return lines[-1][:200] if lines else "no output"

    def stop_tasks(self, tasks: list[TaskHandle]) -> None:
        """SIGTERM each task, then wait for all (SIGKILL after ``STOP_WAIT_S``)."""
        for task in tasks:
            try:
                os.kill(task.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + STOP_WAIT_S
        while any(is_alive(t.pid) for t in tasks) and time.monotonic() < deadline:
            time.sleep(0.05)
        for task in tasks:
            if is_alive(task.pid):
                os.kill(task.pid, signal.SIGKILL)
            child = _CHILDREN.pop(task.pid, None)
            if child is not None:
                child.wait()

    def stop(self) -> None:
        """Stop every task of the service (its state keeps the version, with no tasks: the service
        runs nothing, and a deploy of any version starts it again)."""
        state = self.read_state()
        self.stop_tasks(state.tasks)
        self.write_state(ServiceState(state.version, state.code_dir, []))
