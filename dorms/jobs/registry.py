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
    # status and the error: a feature marks its own row (an allocation run, a directory sync) to match, with a
    # conditional UPDATE, and returns False if that row had already finished (too late: the job is not ended).
    on_stop: Callable[[Any, Any, str | None], bool | None] | None = None
    # Whether this installation can run it now (e.g. the directory is configured); the schedules skip it if not.
    available: Callable[[], bool] | None = None
    # Whether a scheduled run is handed its slot (``slot``: ISO time, UTC; ``every_minutes``: until the next), for
    # work that must fall in exactly one slot.
    takes_slot: bool = False
    # False for a task that commits as it goes (a sync, sending): once running it cannot be cancelled, since what
    # it committed would stay; it finishes on its own. A queued one still can be.
    stoppable: bool = True
    # Fields of the result that are all 0 when a run did nothing: the jobs page leaves such scheduled runs out.
    idle_fields: tuple[str, ...] = ()
    # False for a task whose input is gone once it ends (an upload): another attempt could only fail.
    retryable: bool = True


TASKS: dict[str, Task] = {}
# Run by the nightly purge before old jobs go: each feature forgets what of its own has expired (and so lets
# go of the jobs it pointed at). Each returns how many rows it removed.
PURGE_HOOKS: list[Callable[[], int]] = []


def task(name: str, *, label=None, on_stop: Callable[[Any, Any, str | None], bool | None] | None = None,
         available: Callable[[], bool] | None = None, takes_slot: bool = False, stoppable: bool = True,
         idle_fields: tuple[str, ...] = (), retryable: bool = True):
    """Register ``function(context, **arguments)`` as the task ``name``; what it returns (JSON) is the result.

    It runs in one transaction: what it writes commits together with the job's "succeeded", or not at all;
    one that commits as it goes says ``stoppable=False``."""

    def register(function):
        TASKS[name] = Task(name, function, label, on_stop, available, takes_slot, stoppable, idle_fields, retryable)
        return function

    return register


def find(name: str) -> Task | None:
    return TASKS.get(name)


def is_available(name: str) -> bool:
    """Registered, and able to run in this installation as it is configured."""
    task = TASKS.get(name)
    return task is not None and (task.available is None or task.available())


def on_purge(hook: Callable[[], int]) -> Callable[[], int]:
    """Register ``hook`` with the nightly purge (PURGE_HOOKS)."""
    PURGE_HOOKS.append(hook)
    return hook


def is_retryable(name: str) -> bool:
    task = TASKS.get(name)
    return task is None or task.retryable


def is_stoppable(name: str) -> bool:
    task = TASKS.get(name)
    return task is None or task.stoppable


def label(name: str) -> str:
    task = TASKS.get(name)
    return str(task.label) if task and task.label else name
