"""Background jobs of one kind (card exports, imports): at most one running, the last few remembered."""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, Protocol, TypeVar


class Job(Protocol):
    id: str

    @property
    def running(self) -> bool: ...


J = TypeVar("J", bound=Job)


class JobRegistry(Generic[J]):
    """The jobs by id, oldest first. Hold `lock` around running() and add(), so two requests at the same
    moment cannot both start one."""

    def __init__(self, keep: int):
        self.keep = keep
        self.lock = threading.Lock()
        self._jobs: OrderedDict[str, J] = OrderedDict()

    def running(self) -> J | None:
        """The job still running, if any (with `lock` held)."""
        return next((job for job in self._jobs.values() if job.running), None)

    def add(self, job: J) -> None:
        """Remember a new job and forget the oldest finished ones beyond `keep` (with `lock` held)."""
        self._jobs[job.id] = job
        finished = [j.id for j in self._jobs.values() if not j.running]
        for job_id in finished[:max(0, len(self._jobs) - self.keep)]:
            del self._jobs[job_id]

    def get(self, job_id: str) -> J | None:
        """A remembered job by id."""
        return self._jobs.get(job_id)

    def jobs(self) -> list[J]:
        """Every remembered job, oldest first."""
        return list(self._jobs.values())
