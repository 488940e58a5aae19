# Types for the parts of Huey Factdesk uses (the package ships none).
from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, ParamSpec, TypeVar

from huey.storage import BaseStorage

_P = ParamSpec("_P")
_R = TypeVar("_R")

class Result:
    def get(self, blocking: bool = ..., timeout: float | None = ...) -> Any: ...

class TaskWrapper(Generic[_P, _R]):
    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> Result | None: ...
    def schedule(
        self,
        args: tuple[Any, ...] | None = ...,
        kwargs: dict[str, Any] | None = ...,
        eta: datetime | None = ...,
        delay: float | None = ...,
    ) -> Result: ...
    def call_local(self, *args: _P.args, **kwargs: _P.kwargs) -> _R: ...

class TaskLock:
    def __call__(self, fn: Callable[_P, _R]) -> Callable[_P, _R]: ...
    def __enter__(self) -> None: ...
    def __exit__(self, *args: object) -> None: ...

class Huey:
    storage: BaseStorage
    storage_class: type[BaseStorage]
    storage_kwargs: dict[str, Any]
    _immediate: bool
    def __init__(
        self,
        name: str = ...,
        *,
        immediate: bool = ...,
        storage_class: type[BaseStorage] | None = ...,
        **kwargs: Any,
    ) -> None: ...
    def create_storage(self) -> BaseStorage: ...
    def task(
        self, retries: int = ..., retry_delay: int = ..., **kwargs: Any
    ) -> Callable[[Callable[_P, _R]], TaskWrapper[_P, _R]]: ...
    def periodic_task(
        self,
        validate_datetime: Callable[[datetime], bool],
        retries: int = ...,
        retry_delay: int = ...,
        **kwargs: Any,
    ) -> Callable[[Callable[_P, _R]], TaskWrapper[_P, _R]]: ...
    def lock_task(self, lock_name: str, ttl: int | None = ...) -> TaskLock: ...
    def pending_count(self) -> int: ...
    def put(self, key: str, data: Any) -> bool: ...
    def get(self, key: str, peek: bool = ...) -> Any: ...
    def flush(self) -> None: ...

def crontab(
    minute: str = ...,
    hour: str = ...,
    day: str = ...,
    month: str = ...,
    day_of_week: str = ...,
    strict: bool = ...,
) -> Callable[[datetime], bool]: ...
