"""A small registry of API operations: each route declares its query, body and responses as
pydantic models, and the OpenAPI 3.1 document is built from those declarations (the same
models validate the requests and shape the responses, so the document can't drift)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, g
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .errors import CODES

READ = "read"
READ_WRITE = "read_write"

ERROR_DESCRIPTIONS = {
    400: "Malformed request: invalid JSON, a bad cursor, a NUL byte.",
    401: "No token, a malformed, unknown or revoked token.",
    403: "The token may not do this: another organization's data, or a read-only token writing.",
    404: "No such thing (or one the caller may not know exists).",
    409: "Conflict with the current state (see the error's code).",
    413: "The request body is too large.",
    422: "The request was understood but a value is invalid (see details).",
    429: "Too many requests: wait for the number of seconds in Retry-After.",
}
_RULE_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")
_PARAM_SCHEMAS = {
    "int": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
    "string": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[^/]+$"},
}


@dataclass
class Operation:
    method: str
    rule: str  # the Flask rule, relative to the blueprint
    endpoint: str
    summary: str
    description: str
    tag: str
    response: type[BaseModel] | None
    status: int = 200
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    auth: str | None = None
    errors: tuple[int, ...] = ()
    example: str = ""  # a curl example's arguments after the URL
    media_type: str = "application/json"  # of the success response (OSDI answers HAL+JSON)

    @property
    def path(self) -> str:
        return _RULE_PARAM.sub(lambda m: "{" + m.group(2) + "}", self.rule)

    @property
    def path_params(self) -> list[tuple[str, str]]:
        return [(name, kind or "string") for kind, name in _RULE_PARAM.findall(self.rule)]

    @property
    def error_codes(self) -> list[int]:
        codes = {400, 429, *self.errors}
        if self.path_params:
            codes.add(404)
        if self.query is not None or self.body is not None:
            codes.add(422)
        if self.body is not None:
            codes.add(413)
        if self.auth is not None:
            codes.update({401, 403})
        return sorted(codes)


class Registry:
    def __init__(self, blueprint: Blueprint, prefix: str) -> None:
        self.blueprint = blueprint
        self.prefix = prefix
        self.operations: list[Operation] = []

    def route(
        self,
        rule: str,
        method: str,
        *,
        summary: str,
        response: type[BaseModel] | None,
        tag: str,
        status: int = 200,
        query: type[BaseModel] | None = None,
        body: type[BaseModel] | None = None,
        auth: str | None = None,
        errors: tuple[int, ...] = (),
        example: str = "",
        media_type: str = "application/json",
    ) -> Callable:
        """Register a view as an API operation; its docstring is the description."""

        def decorator(view: Callable) -> Callable:
            from .auth import require_token  # the token check needs the database

            @functools.wraps(view)
            def wrapped(**kwargs):
                if auth is not None:
                    g.api_token = require_token(auth)
                return view(**kwargs)

            self.blueprint.add_url_rule(rule, view.__name__, wrapped, methods=[method])
            self.operations.append(
                Operation(
                    method=method.lower(),
                    rule=rule,
                    endpoint=view.__name__,
                    summary=summary,
                    description=(view.__doc__ or "").strip(),
                    tag=tag,
                    response=response,
                    status=status,
                    query=query,
                    body=body,
                    auth=auth,
                    errors=errors,
                    example=example,
                    media_type=media_type,
                )
            )
            return wrapped

        return decorator

    def document(self, *, title: str, version: str, description: str, server: str) -> dict:
        from .schemas import ErrorResponse

        models: dict[tuple[type[BaseModel], str], None] = {(ErrorResponse, "serialization"): None}
        for op in self.operations:
            if op.response is not None:
                models[(op.response, "serialization")] = None
            if op.body is not None:
                models[(op.body, "validation")] = None
        refs, defs = models_json_schema(
            list(models), ref_template="#/components/schemas/{model}", by_alias=True
        )
        paths: dict[str, dict[str, Any]] = {}
        for op in self.operations:
            paths.setdefault(self.prefix + op.path, {})[op.method] = self._operation(op, refs)
        return {
            "openapi": "3.1.0",
            "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
            "info": {"title": title, "version": version, "description": description},
            "servers": [{"url": server}],
            "tags": [{"name": t} for t in dict.fromkeys(op.tag for op in self.operations)],
            "paths": paths,
            "components": {
                "schemas": defs.get("$defs", {}),
                "securitySchemes": {
                    "bearerToken": {
                        "type": "http",
                        "scheme": "bearer",
                        "description": "An organization's API token, `org_…`, made by its "
                        "owners on the organization's “API tokens” page.",
                    }
                },
            },
        }

    def _operation(self, op: Operation, refs: dict) -> dict[str, Any]:
        parameters = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": _PARAM_SCHEMAS.get(kind, _PARAM_SCHEMAS["string"]),
            }
            for name, kind in op.path_params
        ]
        if op.query is not None:
            parameters += query_parameters(op.query)
        success: dict[str, Any] = {"description": "Success."}
        if op.response is not None:
            success["content"] = {op.media_type: {"schema": refs[(op.response, "serialization")]}}
        responses: dict[str, Any] = {str(op.status): success}
        error_schema = refs[(_error_model(), "serialization")]
        for code in op.error_codes:
            response: dict[str, Any] = {
                "description": ERROR_DESCRIPTIONS.get(code, CODES.get(code, "Error")),
                "content": {"application/json": {"schema": error_schema}},
            }
            if code == 429:
                response["headers"] = {
                    "Retry-After": {
                        "description": "Seconds to wait before trying again.",
                        "schema": {"type": "integer"},
                    }
                }
            responses[str(code)] = response
        result: dict[str, Any] = {
            "operationId": op.endpoint,
            "summary": op.summary,
            "description": op.description,
            "tags": [op.tag],
            "parameters": parameters,
            "responses": responses,
            "security": [{"bearerToken": []}] if op.auth else [],
        }
        if op.auth:
            result["x-scope"] = op.auth
        if op.body is not None:
            result["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
            }
        return result


def _error_model() -> type[BaseModel]:
    from .schemas import ErrorResponse

    return ErrorResponse


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is either absent or a string: `X | None` documents as plain X."""
    options = schema.get("anyOf")
    if options:
        kept = [s for s in options if s.get("type") != "null"]
        if len(kept) == 1:
            rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
            return {**kept[0], **rest}
    schema = dict(schema)
    if schema.get("default") is None:
        schema.pop("default", None)
    return schema


def query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(by_alias=True)
    required = set(schema.get("required", ()))
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        prop = {k: v for k, v in prop.items() if k != "title"}
        description = prop.pop("description", "")
        parameter = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": _without_null(prop),
        }
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters
