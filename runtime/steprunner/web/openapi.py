"""The OpenAPI 3.1 document of a project, generated from its API steps' configs (nothing is declared twice).

How pydantic's `$defs` become components, which runtime answers are documented on every
operation, and a middleware's `openapi` attribute: runtime/docs/web.md.
"""

from __future__ import annotations

import copy
import http
import re
import tomllib
from pathlib import Path
from typing import Any

from steprunner.http.routes import TRACE_HEADER, starlette_path
from steprunner.loader import Step
from steprunner.step_config import ApiConfig

OPENAPI_VERSION = "3.1.0"
RUNTIME_ERROR = "SteprunnerError"
TRACE_ID_HEADER = "TraceId"
_REF_PREFIXES = ("#/$defs/", "#/definitions/")
_COMPONENT_NAME = re.compile(r"[^A-Za-z0-9._-]")

_RUNTIME_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An error the runtime answers itself (not the step's handler): `message` says why.",
    "required": ["message"],
    "properties": {
        "message": {"type": "string"},
        "traceId": {"type": "string", "description": "Present on 500: the trace id to look for in the logs."},
    },
}
_RUNTIME_ANSWERS: dict[str, str] = {
    "400": "The request body is not valid JSON (answered by the runtime).",
    "413": "The request body is larger than the server's limit (answered by the runtime).",
    "415": "The request body is not `application/json` (answered by the runtime).",
    "500": "The handler raised or returned no valid response; the log has the traceback.",
}


def _unescape_pointer(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _component_name(name: str) -> str:
    """OpenAPI component keys must match `^[a-zA-Z0-9._-]+$`."""
    return _COMPONENT_NAME.sub("_", name) or "Schema"


def _collect_defs(node: Any, found: dict[str, Any]) -> None:
    """Pop every `$defs` / `definitions` block, at any depth, into `found` (pydantic only has one, at the top)."""
    if isinstance(node, dict):
        for key in ("$defs", "definitions"):
            block = node.get(key)
            if isinstance(block, dict) and all(isinstance(v, (dict, bool)) for v in block.values()):
                found.update(node.pop(key))
        for value in list(node.values()):
            _collect_defs(value, found)
    elif isinstance(node, list):
        for item in node:
            _collect_defs(item, found)


def _rewrite_refs(node: Any, mapping: dict[str, str], root_name: str | None) -> Any:
    """A copy of `node` with `#/$defs/X` -> `#/components/schemas/<mapping[X]>` (and `#` -> the root's component)."""
    if isinstance(node, dict):
        out = {k: _rewrite_refs(v, mapping, root_name) for k, v in node.items()}
        ref = node.get("$ref")
        if isinstance(ref, str):
            if ref == "#" and root_name:
                out["$ref"] = f"#/components/schemas/{root_name}"
            for prefix in _REF_PREFIXES:
                if ref.startswith(prefix):
                    target = _unescape_pointer(ref[len(prefix) :])
                    if target in mapping:
                        out["$ref"] = f"#/components/schemas/{mapping[target]}"
        return out
    if isinstance(node, list):
        return [_rewrite_refs(item, mapping, root_name) for item in node]
    return node


class _Components:
    """`components/schemas`, filled as the steps' schemas are hoisted."""

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def _other_name(
        self, key: str, base: str, mapping: dict[str, str], defs: dict[str, Any], root_key: str | None, fresh: bool
    ) -> str:
        """`base2`, `base3`, ...: the first that is free or already holds this very schema (unless `fresh`)."""
        others = {v for k, v in mapping.items() if k != key}
        n = 2
        while True:
            candidate = f"{base}{n}"
            n += 1
            if candidate in others:
                continue
            if candidate not in self.schemas:
                return candidate
            if fresh:
                continue
            trial = {**mapping, key: candidate}
            if self.schemas[candidate] == _rewrite_refs(defs[key], trial, trial.get(root_key) if root_key else None):
                return candidate

    def hoist(self, schema: dict[str, Any]) -> dict[str, Any]:
        """The schema to put in the operation: its definitions registered as components, refs rewritten."""
        body = copy.deepcopy(schema)
        defs: dict[str, Any] = {}
        _collect_defs(body, defs)
        root_key: str | None = None
        if isinstance(body.get("title"), str) and (body.get("type") == "object" or "properties" in body):
            root_key = "\0root"  # cannot collide with a definition's name; last in `defs`
            defs[root_key] = body
        if not defs:
            return body
        base = {key: _component_name(body["title"] if key == root_key else key) for key in defs}
        renamed: dict[str, str] = {}
        for attempt in range(
            100
        ):  # rename only what clashes with a different schema already registered; repeat until stable
            mapping = {key: renamed.get(key, base[key]) for key in defs}
            root_name = mapping.get(root_key) if root_key else None
            bodies = {key: _rewrite_refs(defs[key], mapping, root_name) for key in defs}
            clashes = [k for k in defs if mapping[k] in self.schemas and self.schemas[mapping[k]] != bodies[k]]
            if not clashes:
                break
            # One at a time, definitions before the root: renaming a nested model changes the
            # schemas that point at it, which may then match what is registered after all.
            # An equal schema under a suffixed name is reused; past 50 rounds, only fresh names.
            key = clashes[0]
            renamed[key] = self._other_name(key, base[key], mapping, defs, root_key, fresh=attempt >= 50)
        for key, final in mapping.items():
            self.schemas[final] = bodies[key]
        if root_key:
            return {"$ref": f"#/components/schemas/{mapping[root_key]}"}
        return _rewrite_refs(body, mapping, None)


def _project_info(root: Path | None) -> dict[str, Any]:
    """`info` from pyproject.toml's [project] when there is one, else from the folder's name."""
    info: dict[str, Any] = {"title": root.name if root else "steprunner project", "version": "0.0.0"}
    pyproject = root / "pyproject.toml" if root else None
    if pyproject and pyproject.is_file():
        try:
            project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
        except (tomllib.TOMLDecodeError, OSError):
            project = {}
        for key in ("name", "version", "description"):
            if isinstance(project.get(key), str):
                info["title" if key == "name" else key] = project[key]
    return info


def _json_content(schema: Any) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _response(status: str, schema: dict[str, Any] | None, description: str) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "headers": {TRACE_HEADER: {"$ref": f"#/components/headers/{TRACE_ID_HEADER}"}},
    }
    if schema is not None:
        response["content"] = _json_content(schema)
    return response


def _status_phrase(status: str) -> str:
    try:
        return http.HTTPStatus(int(status)).phrase
    except ValueError:
        return "Response"


def _responses(config: ApiConfig, components: _Components, has_body: bool) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    declared = config.responseSchema or {}
    for status, schema in declared.items():
        description = schema.get("description") if isinstance(schema.get("description"), str) else None
        responses[str(status)] = _response(str(status), components.hoist(schema), description or _status_phrase(status))
    runtime_codes = ["400", "413", "415", "500"] if has_body else ["500"]
    error_ref = {"$ref": f"#/components/schemas/{RUNTIME_ERROR}"}
    for status in runtime_codes:
        if status in responses:
            entry = responses[status]
            step_schema = entry.get("content", {}).get("application/json", {}).get("schema")
            entry["content"] = _json_content({"anyOf": [step_schema, error_ref]} if step_schema else error_ref)
            entry["description"] += f" Or: {_RUNTIME_ANSWERS[status]}"
        else:
            responses[status] = _response(status, error_ref, _RUNTIME_ANSWERS[status])
    if not declared:
        responses["default"] = _response(
            "default", None, "Whatever the handler returns: this step declares no `responseSchema`."
        )
    return dict(sorted(responses.items()))


def _operation(step: Step, components: _Components) -> dict[str, Any]:
    config = step.config
    assert isinstance(config, ApiConfig)
    operation: dict[str, Any] = {"operationId": step.name, "summary": step.name}
    if config.description:
        operation["description"] = config.description
    if config.flows:
        operation["tags"] = list(config.flows)
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
        for name in re.findall(r":(\w+)", config.path)
    ]
    for param in config.queryParams or []:
        value_schema = components.hoist(param.value_schema) if param.value_schema else {"type": "string"}
        entry: dict[str, Any] = {"name": param.name, "in": "query", "required": False, "schema": value_schema}
        if param.description:
            entry["description"] = param.description
        parameters.append(entry)
    middleware_docs = [doc for mw in config.middleware or [] if isinstance(doc := getattr(mw, "openapi", None), dict)]
    for doc in middleware_docs:
        parameters.extend(doc.get("parameters", []))
    if parameters:
        operation["parameters"] = parameters
    if config.bodySchema is not None:
        operation["requestBody"] = {"required": True, "content": _json_content(components.hoist(config.bodySchema))}
    responses = _responses(config, components, has_body=config.bodySchema is not None)
    error_ref = {"$ref": f"#/components/schemas/{RUNTIME_ERROR}"}
    for doc in middleware_docs:
        for status, description in doc.get("responses", {}).items():
            responses.setdefault(str(status), _response(str(status), error_ref, description))
    operation["responses"] = dict(sorted(responses.items()))
    operation["x-motia-step"] = step.file
    return operation


def openapi_document(steps: list[Step], root: Path | None = None) -> dict[str, Any]:
    """The whole document: one operation per API step, shared schemas under `components`."""
    components = _Components()
    components.schemas[RUNTIME_ERROR] = (
        _RUNTIME_ERROR_SCHEMA  # first, so a step's model of that name is the one renamed
    )
    paths: dict[str, dict[str, Any]] = {}
    tags: set[str] = set()
    api_steps = [(s, s.config) for s in steps if isinstance(s.config, ApiConfig)]
    for step, config in sorted(api_steps, key=lambda pair: (pair[1].path, pair[1].method)):
        paths.setdefault(starlette_path(config.path), {})[config.method.lower()] = _operation(step, components)
        tags.update(config.flows or [])
    document: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": _project_info(root),
        "paths": paths,
        "components": {
            "schemas": dict(sorted(components.schemas.items())),
            "headers": {
                TRACE_ID_HEADER: {
                    "description": "The trace id of this request: every step it sets off logs under it.",
                    "schema": {"type": "string"},
                }
            },
        },
    }
    if tags:
        document["tags"] = [{"name": tag, "description": f"Steps in the `{tag}` flow"} for tag in sorted(tags)]
    return document
