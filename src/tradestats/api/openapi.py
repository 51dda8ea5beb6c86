"""Routes declared with pydantic schemas; the same schemas validate requests and build
the OpenAPI 3.1 document served at ``/api/openapi.json``.

Why not flask-openapi3/apiflask/spectree: we need Flask's plain app factory and
blueprints, 400 problem+json with an ``errors`` list naming each invalid field (RFC 9457),
and operations whose bodies are not JSON (multipart uploads, CSV, Server-Sent Events)
documented in the same spec. A thin layer over pydantic (which emits JSON Schema 2020-12,
the dialect OpenAPI 3.1 uses) gives all three in ~200 lines with no adapter code.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Blueprint, request
from pydantic import BaseModel, ValidationError

from tradestats import __version__
from tradestats.api.problems import PROBLEM_MEDIA_TYPE, ApiProblem

F = TypeVar("F", bound=Callable[..., Any])

_RULE_PARAM = re.compile(r"<(?:(?P<conv>[a-z]+):)?(?P<name>\w+)>")


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None


@dataclass
class ResponseSpec:
    """One documented response: a pydantic model or a raw JSON Schema, and its media type."""

    description: str
    model: type[BaseModel] | None = None
    schema: dict[str, Any] | None = None
    media_type: str = "application/json"
    headers: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Operation:
    rule: str
    method: str
    endpoint: str
    summary: str
    tags: list[str]
    query: type[BaseModel] | None
    body: type[BaseModel] | None
    body_media_type: str | None
    body_schema: dict[str, Any] | None
    responses: dict[int, ResponseSpec]
    public: bool


class ApiSpec:
    """Collects operations declared with `ApiSpec.route` and renders the OpenAPI document."""

    def __init__(self, title: str = "tradestats API") -> None:
        self.title = title
        self.operations: list[Operation] = []

    def route(
        self,
        bp: Blueprint,
        rule: str,
        method: str,
        *,
        summary: str,
        tags: list[str],
        responses: dict[int, ResponseSpec],
        query: type[BaseModel] | None = None,
        body: type[BaseModel] | None = None,
        body_media_type: str | None = None,
        body_schema: dict[str, Any] | None = None,
        public: bool = False,
    ) -> Callable[[F], F]:
        """Register a view on `bp` and document it.

        With `query`, the view receives ``query=`` (the validated model of the query
        string); with `body`, ``body=`` (the validated JSON body). Invalid input raises a
        400 problem whose ``errors`` name each field, its location and the reason.
        """

        def decorator(view: F) -> F:
            @functools.wraps(view)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                if query is not None:
                    kwargs["query"] = _validate(query, _query_dict(query), "query")
                if body is not None:
                    kwargs["body"] = _validate(body, _json_body(), "body")
                return view(*args, **kwargs)

            bp.add_url_rule(rule, view.__name__, wrapper, methods=[method])
            full_rule = (bp.url_prefix or "") + rule
            self.operations.append(
                Operation(
                    rule=full_rule,
                    method=method.lower(),
                    endpoint=f"{bp.name}.{view.__name__}",
                    summary=summary,
                    tags=tags,
                    query=query,
                    body=body,
                    body_media_type=body_media_type,
                    body_schema=body_schema,
                    responses=responses,
                    public=public,
                )
            )
            return view

        return decorator

    def document(self, *, auth: bool) -> dict[str, Any]:
        """The OpenAPI 3.1 document for every declared operation."""
        components: dict[str, Any] = {}
        _add_model(Problem, components)
        paths: dict[str, dict[str, Any]] = {}
        for op in self.operations:
            path, params = _openapi_path(op.rule)
            item: dict[str, Any] = {
                "operationId": op.endpoint.replace(".", "_"),
                "summary": op.summary,
                "tags": op.tags,
                "parameters": params + (_query_params(op.query, components) if op.query else []),
                "responses": {},
            }
            if op.body is not None:
                item["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": _add_model(op.body, components)}},
                }
            elif op.body_schema is not None:
                item["requestBody"] = {
                    "required": True,
                    "content": {
                        op.body_media_type or "application/json": {"schema": op.body_schema}
                    },
                }
            for status, spec in sorted(op.responses.items()):
                item["responses"][str(status)] = _response(spec, components)
            item["responses"]["default"] = {
                "description": "Error (RFC 9457 problem details)",
                "content": {
                    PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}
                },
            }
            if op.public:
                item["security"] = []
            paths.setdefault(path, {})[op.method] = item
        doc: dict[str, Any] = {
            "openapi": "3.1.0",
            "info": {"title": self.title, "version": __version__},
            "paths": paths,
            "components": {"schemas": components},
        }
        if auth:
            doc["components"]["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer"},
            }
            doc["security"] = [{"bearer": []}]
        return doc


def _validate(model: type[BaseModel], data: Any, location: str) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [
            {
                "name": ".".join(str(p) for p in err["loc"]) or location,
                "in": location,
                "reason": err["msg"],
            }
            for err in exc.errors(include_url=False)
        ]
        names = ", ".join(sorted({e["name"] for e in errors}))
        raise ApiProblem(
            400, "Invalid request", f"Invalid {location} parameter(s): {names}", errors=errors
        ) from None


def _query_dict(model: type[BaseModel]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in request.args:
        values = request.args.getlist(key)
        field_info = model.model_fields.get(key)
        is_list = field_info is not None and "list" in str(field_info.annotation).lower()
        out[key] = values if is_list else values[-1]
    return out


def _json_body() -> Any:
    if not request.is_json:
        raise ApiProblem(
            415,
            "Unsupported Media Type",
            "Send the body as application/json.",
            errors=[{"name": "Content-Type", "in": "header", "reason": "must be application/json"}],
        )
    data = request.get_json(silent=True)
    if data is None:
        raise ApiProblem(
            400,
            "Invalid request",
            "The body is not valid JSON.",
            errors=[{"name": "body", "in": "body", "reason": "invalid JSON"}],
        )
    return data


def _add_model(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        components.setdefault(name, sub)
    components.setdefault(model.__name__, schema)
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _response(spec: ResponseSpec, components: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"description": spec.description}
    if spec.model is not None:
        out["content"] = {spec.media_type: {"schema": _add_model(spec.model, components)}}
    elif spec.schema is not None:
        out["content"] = {spec.media_type: {"schema": spec.schema}}
    if spec.headers:
        out["headers"] = spec.headers
    return out


def _openapi_path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    params: list[dict[str, Any]] = []

    def repl(match: re.Match[str]) -> str:
        conv = match.group("conv") or "string"
        schema: dict[str, Any] = {"type": "integer"} if conv == "int" else {"type": "string"}
        params.append(
            {"name": match.group("name"), "in": "path", "required": True, "schema": schema}
        )
        return "{" + match.group("name") + "}"

    return _RULE_PARAM.sub(repl, rule), params


def _query_params(model: type[BaseModel], components: dict[str, Any]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        components.setdefault(name, sub)
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        param: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": prop,
        }
        if prop.get("description"):
            param["description"] = prop["description"]
        params.append(param)
    return params
