# Types for the parts of flask-smorest Factdesk uses (the package ships none): its decorators
# keep the decorated view's signature, so views stay checked.
from collections.abc import Callable
from typing import Any, TypeVar

import flask
from apispec import APISpec
from marshmallow import Schema
from werkzeug.exceptions import HTTPException

_F = TypeVar("_F", bound=Callable[..., Any])
_T = TypeVar("_T")
_SchemaArg = type[Schema] | Schema

class Blueprint(flask.Blueprint):
    def __init__(
        self, name: str, import_name: str, *args: Any, description: str | None = ..., **kwargs: Any
    ) -> None: ...
    def route(
        self, rule: str, *, parameters: list[Any] | None = ..., tags: list[str] | None = ..., **options: Any
    ) -> Callable[[_T], _T]: ...
    def arguments(
        self,
        schema: _SchemaArg,
        *,
        location: str = ...,
        content_type: str | None = ...,
        required: bool = ...,
        description: str | None = ...,
        example: Any = ...,
        examples: dict[str, Any] | None = ...,
        **kwargs: Any,
    ) -> Callable[[_F], _F]: ...
    def response(
        self,
        status_code: int | str,
        schema: _SchemaArg | None = ...,
        *,
        content_type: str | None = ...,
        description: str | None = ...,
        example: Any = ...,
        examples: dict[str, Any] | None = ...,
        headers: dict[str, Any] | None = ...,
    ) -> Callable[[_F], _F]: ...
    def alt_response(
        self,
        status_code: int | str,
        response: Any = ...,
        *,
        schema: _SchemaArg | None = ...,
        content_type: str | None = ...,
        description: str | None = ...,
        example: Any = ...,
        examples: dict[str, Any] | None = ...,
        headers: dict[str, Any] | None = ...,
        success: bool = ...,
    ) -> Callable[[_F], _F]: ...
    def doc(self, **kwargs: Any) -> Callable[[_F], _F]: ...

class Api:
    spec: APISpec
    ERROR_SCHEMA: type[Schema]
    def __init__(
        self, app: flask.Flask | None = ..., *, spec_kwargs: dict[str, Any] | None = ...
    ) -> None: ...
    def register_blueprint(self, blp: Blueprint, *, parameters: Any = ..., **options: Any) -> None: ...
    def handle_http_exception(self, error: HTTPException) -> flask.Response: ...
