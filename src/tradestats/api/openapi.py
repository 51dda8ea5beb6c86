"""Routes declared with pydantic schemas; the same schemas validate requests and build
the OpenAPI 3.1 document served at ``/api/openapi.json``.

Why not flask-openapi3/apiflask/spectree: we need Flask's plain app factory and
blueprints, 400 problem+json with an ``errors`` list naming each invalid field (RFC 9457),
and operations whose bodies are not JSON (multipart uploads, CSV, Server-Sent Events)
documented in the same spec. A thin layer over pydantic (which emits JSON Schema 2020-12,
the dialect OpenAPI 3.1 uses) gives all three in ~200 lines with no adapter code.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, get_args
from zoneinfo import available_timezones

from flask import Blueprint, request
from pydantic import BaseModel, ValidationError

from tradestats import __version__
from tradestats.api.problems import PROBLEM_MEDIA_TYPE, ApiProblem

F = TypeVar("F", bound=Callable[..., Any])

_RULE_PARAM = re.compile(r"<(?:(?P<conv>[a-z]+):)?(?P<name>\w+)>")
#: Largest id a path may carry: a 32-bit signed integer, the id columns' type on PostgreSQL.
#: Flask's ``<int:...>`` accepts any length; a larger value would reach the driver and
#: fail there (500) instead of being a plain 404.
MAX_PATH_INT = 2**31 - 1
#: Marks a query field as an IANA time zone name (as its ``json_schema_extra``): its
#: parameter refers to the TimeZone component, the names this server's zoneinfo knows.
#: (A literal "$ref" there would make pydantic look the name up in its own $defs.)
TIME_ZONE: dict[str, Any] = {"x-time-zone": True}


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
    #: OpenAPI links: where an id in this response leads (see `link`); stateful API
    #: clients and fuzzers (schemathesis) follow them.
    links: dict[str, dict[str, Any]] = field(default_factory=dict)


def link(operation_id: str, **parameters: str) -> dict[str, Any]:
    """An OpenAPI link to `operation_id`, its parameters taken from this response, e.g.
    ``link("imports_get_import", import_id="$response.body#/id")``."""
    return {"operationId": operation_id, "parameters": parameters}


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
    path_params: dict[str, dict[str, Any]] = field(default_factory=dict)


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
        path_params: dict[str, dict[str, Any]] | None = None,
    ) -> Callable[[F], F]:
        """Register a view on `bp` and document it.

        With `query`, the view receives ``query=`` (the validated model of the query
        string); with `body`, ``body=`` (the validated JSON body). Invalid input raises a
        400 problem whose ``errors`` name each field, its location and the reason.
        `path_params` documents the schema of string path parameters the view checks
        itself (e.g. a ticker pattern).
        """

        def decorator(view: F) -> F:
            @functools.wraps(view)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                for value in kwargs.values():
                    if (isinstance(value, int) and value > MAX_PATH_INT) or (
                        isinstance(value, str) and "\x00" in value
                    ):
                        raise ApiProblem(404, "Not Found", "no such resource")
                if query is not None:
                    data = _query_dict(query)
                    _reject_nul(data, "query")
                    kwargs["query"] = _validate(query, data, "query")
                if body is not None:
                    data = _json_body()
                    _reject_nul(data, "body")
                    kwargs["body"] = _validate(body, data, "body")
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
                    path_params=path_params or {},
                )
            )
            return view

        return decorator

    def document(self, *, auth: bool) -> dict[str, Any]:
        """The OpenAPI 3.1 document for every declared operation."""
        components: dict[str, Any] = {
            "TimeZone": {
                "type": "string",
                "description": "IANA time zone name",
                "enum": sorted(available_timezones()),
            }
        }
        _add_model(Problem, components)
        paths: dict[str, dict[str, Any]] = {}
        for op in self.operations:
            path, params = _openapi_path(op.rule)
            for param in params:
                param["schema"] = op.path_params.get(param["name"], param["schema"])
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


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@functools.cache
def _date_fields(model: type[BaseModel]) -> frozenset[str]:
    """Top-level fields typed `date` (or `date | None`)."""
    return frozenset(
        name
        for name, info in model.model_fields.items()
        if any(arg is dt.date for arg in (get_args(info.annotation) or (info.annotation,)))
    )


def _date_errors(model: type[BaseModel], data: Any, location: str) -> list[dict[str, Any]]:
    """Dates are YYYY-MM-DD (the schema's ``format: date``). Pydantic's lax mode would
    also take a number as a Unix timestamp (``start=0`` -> 1970-01-01): never guess."""
    if not isinstance(data, dict):
        return []
    return [
        {"name": name, "in": location, "reason": "a date as YYYY-MM-DD"}
        for name in sorted(_date_fields(model))
        if data.get(name) is not None
        and not (isinstance(data[name], str) and _ISO_DATE.match(data[name]))
    ]


def _validate(model: type[BaseModel], data: Any, location: str) -> BaseModel:
    errors = _date_errors(model, data, location)
    try:
        result = model.model_validate(data)
    except ValidationError as exc:
        named = {e["name"] for e in errors}
        errors += [
            {
                "name": ".".join(str(p) for p in err["loc"]) or location,
                "in": location,
                "reason": err["msg"],
            }
            for err in exc.errors(include_url=False)
            if (".".join(str(p) for p in err["loc"]) or location) not in named
        ]
    if errors:
        names = ", ".join(sorted({e["name"] for e in errors}))
        raise ApiProblem(
            400, "Invalid request", f"Invalid {location} parameter(s): {names}", errors=errors
        )
    return result


def _nul_path(data: Any, path: str) -> str | None:
    """Where in `data` a NUL character hides (a key or a string value), if anywhere."""
    if isinstance(data, str):
        return path if "\x00" in data else None
    if isinstance(data, dict):
        for key, value in data.items():
            where = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return where
            found = _nul_path(value, where)
            if found:
                return found
    if isinstance(data, list):
        for i, value in enumerate(data):
            found = _nul_path(value, f"{path}.{i}" if path else str(i))
            if found:
                return found
    return None


def _reject_nul(data: Any, location: str) -> None:
    """400 for text with a NUL character: no field means one, and PostgreSQL cannot
    store or even compare it (the driver raises, which would be a 500)."""
    where = _nul_path(data, "")
    if where is not None:
        name = where or location
        raise ApiProblem(
            400,
            "Invalid request",
            f"Invalid {location} parameter(s): {name}",
            errors=[{"name": name, "in": location, "reason": "contains a NUL character"}],
        )


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


def _add_component(components: dict[str, Any], name: str, schema: dict[str, Any]) -> None:
    """Components are keyed by model name: two different models with one name would
    silently document one of them for both, so that fails loudly instead."""
    existing = components.setdefault(name, schema)
    if existing != schema:
        raise ValueError(f"two different schemas are named {name!r}; rename one model")


def _add_model(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        _add_component(components, name, sub)
    _add_component(components, model.__name__, schema)
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _response(spec: ResponseSpec, components: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"description": spec.description}
    if spec.model is not None:
        out["content"] = {spec.media_type: {"schema": _add_model(spec.model, components)}}
    elif spec.schema is not None:
        out["content"] = {spec.media_type: {"schema": spec.schema}}
    if spec.headers:
        out["headers"] = spec.headers
    if spec.links:
        out["links"] = spec.links
    return out


def _openapi_path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    params: list[dict[str, Any]] = []

    def repl(match: re.Match[str]) -> str:
        conv = match.group("conv") or "string"
        schema: dict[str, Any] = (
            {"type": "integer", "minimum": 0, "maximum": MAX_PATH_INT}
            if conv == "int"
            else {"type": "string"}
        )
        params.append(
            {"name": match.group("name"), "in": "path", "required": True, "schema": schema}
        )
        return "{" + match.group("name") + "}"

    return _RULE_PARAM.sub(repl, rule), params


def _query_params(model: type[BaseModel], components: dict[str, Any]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        _add_component(components, name, sub)
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        if prop.pop("x-time-zone", False):
            prop["$ref"] = "#/components/schemas/TimeZone"
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
