"""The tasks a job may run, by name, and the context a running task reports through."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


class Cancelled(Exception):
    """Raised by a task (or ``Context.stop_if_cancelled``) that saw its job cancelled: nothing it wrote is kept."""


class Context(Protocol):
    """What a task is handed: report progress, write to its log, and ask whether staff cancelled it."""

    job_id: int

    def progress(self, percent: int, note: str = "") -> None: ...

    def log(self, text: str) -> None: ...

    def cancelled(self) -> bool: ...

    def stop_if_cancelled(self) -> None: ...


@dataclass(frozen=True)
class Task:
    name: str
    function: Callable[..., Any]
    label: str | None = None  # what staff read on the jobs page (lazy_gettext); the name otherwise
    # Called in the transaction that ends a job early (cancelled, or its worker died) with the job, its new
    # status and the error: a feature marks its own row (an allocation run, a directory sync) to match.
    on_stop: Callable[[Any, Any, str | None], None] | None = None
    # Whether this installation can run it now (e.g. the directory is configured); the schedules skip it if not.
    available: Callable[[], bool] | None = None
    # Whether a scheduled run is handed its slot (``slot``: ISO time, UTC; ``every_minutes``: until the next), for
    # work that must fall in exactly one slot.
    takes_slot: bool = False


TASKS: dict[str, Task] = {}


def task(name: str, *, label=None, on_stop: Callable[[Any, Any, str | None], None] | None = None,
         available: Callable[[], bool] | None = None, takes_slot: bool = False):
    """Register ``function(context, **arguments)`` as the task ``name``; what it returns (JSON) is the result.

    It runs in one transaction: what it writes commits together with the job's "succeeded", or not at all."""

    def register(function):
        TASKS[name] = Task(name, function, label, on_stop, available, takes_slot)
        return function

    return register


def find(name: str) -> Task | None:
    return TASKS.get(name)


def is_available(name: str) -> bool:
    """Registered, and able to run in this installation as it is configured."""
    task = TASKS.get(name)
    return task is not None and (task.available is None or task.available())


def label(name: str) -> str:
    task = TASKS.get(name)
    return str(task.label) if task and task.label else name
