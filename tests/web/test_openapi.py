"""The OpenAPI document built from API step configs: valid 3.1, complete, refs that resolve."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate
from pydantic import BaseModel, Field

from steprunner.loader import Step, load_steps
from steprunner.step_config import parse_config
from steprunner.web.openapi import RUNTIME_ERROR, openapi_document
from tests.support.fixtures import FIXTURE_ROOT
from tests.support.server import REPO_ROOT


def api_step(file: str, **config: Any) -> Step:
    return Step(file=file, config=parse_config({"type": "api", "emits": [], **config}, file), handler=None)


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"external or relative ref {ref!r}"
    node: Any = document
    for token in ref[2:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and token in node, f"{ref} does not resolve (stuck at {token!r})"
        node = node[token]
    return node


def assert_sound(document: dict[str, Any]) -> None:
    """Valid OpenAPI 3.1, every $ref points inside the document, no `$defs` left behind."""
    validate(document)
    assert document["openapi"].startswith("3.1")
    for ref in refs(document):
        resolve(document, ref)
    assert '"$defs"' not in repr(document).replace("'", '"')


class Owner(BaseModel):
    name: str
    phone: str | None = None


class Pet(BaseModel):
    name: str = Field(min_length=1)
    owner: Owner | None = None


class PetPage(BaseModel):
    items: list[Pet]


def lease_model() -> type[BaseModel]:
    """A model whose nested `Owner` is a different model with the same name as the one above."""

    class Owner(BaseModel):
        company: str

    class Lease(BaseModel):
        owner: Owner

    return Lease


def test_fixture_project_gives_a_valid_document_with_every_api_step() -> None:
    document = openapi_document(load_steps(FIXTURE_ROOT), FIXTURE_ROOT)
    assert_sound(document)
    operations = {
        (path, method): op["operationId"] for path, item in document["paths"].items() for method, op in item.items()
    }
    assert operations == {
        ("/broken/{how}", "get"): "Broken",
        ("/echo/{name}", "post"): "Echo",
        ("/fanout", "post"): "Fanout",
        ("/state/{group}/{key}", "put"): "StateApi",
    }
    state = document["paths"]["/state/{group}/{key}"]["put"]
    assert [(p["name"], p["in"], p["required"]) for p in state["parameters"]] == [
        ("group", "path", True),
        ("key", "path", True),
    ]
    assert document["paths"]["/echo/{name}"]["post"]["tags"] == ["fixture"]


def test_pydantic_defs_become_shared_components_and_name_clashes_are_renamed() -> None:
    steps = [
        api_step(
            "steps/create_step.py",
            name="Create",
            path="/pets",
            method="POST",
            bodySchema=Pet.model_json_schema(),
            responseSchema={
                "201": Pet.model_json_schema(),
                "400": {"type": "object", "properties": {"message": {"type": "string"}}},
            },
        ),
        api_step(
            "steps/list_step.py",
            name="List",
            path="/pets",
            method="GET",
            responseSchema={"200": PetPage.model_json_schema()},
        ),
        api_step(
            "steps/lease_step.py",
            name="Lease",
            path="/leases/:id",
            method="PUT",
            bodySchema=lease_model().model_json_schema(),
        ),
    ]
    document = openapi_document(steps)
    assert_sound(document)
    schemas = document["components"]["schemas"]
    assert {"Pet", "Owner", "PetPage", "Lease", "Owner2", RUNTIME_ERROR} <= set(schemas)
    # one Pet for the request, the 201 and the list items
    create = document["paths"]["/pets"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Pet"}
    assert create["responses"]["201"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Pet"}
    assert schemas["PetPage"]["properties"]["items"]["items"] == {"$ref": "#/components/schemas/Pet"}
    # the two different "Owner" models stay two components, each referenced where it belongs
    assert sorted(name for name in schemas if name.startswith("Owner")) == ["Owner", "Owner2"]
    pet_owner = resolve(document, schemas["Pet"]["properties"]["owner"]["anyOf"][0]["$ref"])
    lease_owner = resolve(document, schemas["Lease"]["properties"]["owner"]["$ref"])
    assert set(pet_owner["properties"]) == {"name", "phone"}
    assert set(lease_owner["properties"]) == {"company"}
    assert document["paths"]["/leases/{id}"]["put"]["parameters"][0]["name"] == "id"


def test_runtime_answers_are_documented_with_the_steps_own() -> None:
    steps = [
        api_step(
            "steps/create_step.py",
            name="Create",
            path="/pets",
            method="POST",
            bodySchema=Pet.model_json_schema(),
            responseSchema={
                "201": Pet.model_json_schema(),
                "400": {"type": "object", "required": ["errors"], "properties": {"errors": {"type": "array"}}},
            },
        ),
        api_step(
            "steps/get_step.py",
            name="Get",
            path="/pets/:id",
            method="GET",
            description="One pet by id",
            queryParams=[{"name": "fields", "description": "which fields"}],
        ),
    ]
    document = openapi_document(steps)
    assert_sound(document)
    create = document["paths"]["/pets"]["post"]["responses"]
    assert set(create) == {"201", "400", "413", "415", "500"}
    assert create["400"]["content"]["application/json"]["schema"] == {
        "anyOf": [
            create["400"]["content"]["application/json"]["schema"]["anyOf"][0],
            {"$ref": f"#/components/schemas/{RUNTIME_ERROR}"},
        ]
    }
    assert create["413"]["content"]["application/json"]["schema"] == {"$ref": f"#/components/schemas/{RUNTIME_ERROR}"}
    get = document["paths"]["/pets/{id}"]["get"]
    assert get["description"] == "One pet by id"
    assert set(get["responses"]) == {"500", "default"}  # no body: no 400/413 from the runtime
    assert {
        "name": "fields",
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": "which fields",
    } in get["parameters"]
    assert "x-trace-id" in get["responses"]["default"]["headers"]


def test_the_real_projects_document_is_complete() -> None:
    steps = load_steps(REPO_ROOT)
    api = [s for s in steps if s.type == "api"]
    if not api:
        pytest.skip("the project has no API steps yet")
    document = openapi_document(steps, REPO_ROOT)
    assert_sound(document)
    assert document["info"]["title"] == "motia-pet-store-py"
    operation_ids = sorted(op["operationId"] for item in document["paths"].values() for op in item.values())
    assert operation_ids == sorted(s.name for s in api)
    for item in document["paths"].values():
        for op in item.values():
            declared = next(s for s in api if s.name == op["operationId"]).config
            assert set(declared.responseSchema or {}) <= set(op["responses"]), op["operationId"]
            if declared.bodySchema is not None:
                assert "requestBody" in op, op["operationId"]


def test_changing_routes_document_their_idempotency_key_and_staff_key() -> None:
    document = openapi_document(load_steps(REPO_ROOT), REPO_ROOT)
    changing = [
        ("/py/pets", "post"),
        ("/py/pets/{id}", "put"),
        ("/py/pets/{id}", "delete"),
        ("/py/pets/{id}/restore", "post"),
    ]
    for path, method in changing:
        op = document["paths"][path][method]
        headers = {p["name"] for p in op["parameters"] if p["in"] == "header"}
        assert headers == {"Idempotency-Key", "Authorization"}, (path, method)
        assert {"401", "409", "422"} <= set(op["responses"]), (path, method)
    assert "415" in document["paths"]["/py/pets"]["post"]["responses"]
    reading = document["paths"]["/py/pets/{id}"]["get"]
    assert not any(p["in"] == "header" for p in reading.get("parameters", [])) and "401" not in reading["responses"]


def test_project_info_comes_from_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "shelter"\nversion = "2.1.0"\ndescription = "Pets"\n')
    info = openapi_document([], tmp_path)["info"]
    assert info == {"title": "shelter", "version": "2.1.0", "description": "Pets"}


def test_a_query_parameter_with_a_schema_is_documented_with_it_and_its_defs_become_components() -> None:
    colour = {"$ref": "#/$defs/Colour", "$defs": {"Colour": {"type": "string", "enum": ["red", "blue"]}}}
    steps = [
        api_step(
            "steps/list_step.py",
            name="List",
            path="/pets",
            method="GET",
            responseSchema={"200": PetPage.model_json_schema()},
            queryParams=[
                {"name": "colour", "description": "only this colour", "schema": colour},
                {"name": "limit", "schema": {"type": "integer", "minimum": 1}},
                {"name": "q"},
            ],
        )
    ]
    document = openapi_document(steps)
    assert_sound(document)
    parameters = {p["name"]: p["schema"] for p in document["paths"]["/pets"]["get"]["parameters"]}
    assert parameters == {
        "colour": {"$ref": "#/components/schemas/Colour"},
        "limit": {"type": "integer", "minimum": 1},
        "q": {"type": "string"},
    }, "without a schema a parameter is a string, as Motia documents it"
    assert document["components"]["schemas"]["Colour"] == {"type": "string", "enum": ["red", "blue"]}


def test_the_pets_document_has_enums_for_status_and_species_and_one_pet_model() -> None:
    from services.models import Species, Status

    document = openapi_document(load_steps(REPO_ROOT), REPO_ROOT)
    assert_sound(document)
    schemas = document["components"]["schemas"]
    statuses, species = [s.value for s in Status], [s.value for s in Species]
    query = {p["name"]: p for p in document["paths"]["/py/pets"]["get"]["parameters"]}
    assert resolve(document, query["status"]["schema"]["$ref"])["enum"] == statuses
    assert resolve(document, query["species"]["schema"]["$ref"])["enum"] == species
    assert query["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}

    pet = schemas["Pet"]
    assert resolve(document, pet["properties"]["status"]["$ref"])["enum"] == statuses
    assert resolve(document, pet["properties"]["species"]["$ref"])["enum"] == species
    assert pet["required"] == list(pet["properties"]), "an answer carries every field"
    assert pet["additionalProperties"] is False, "and nothing else"
    assert "lastStatusRequestId" not in pet["properties"], "bookkeeping is not part of the model"
    for field in ("pendingStatusRequest", "statusBeforeDelete", "enrichmentStartedAt"):
        assert pet["properties"][field].get("description"), f"{field}: documented, with why a client reads it"

    def answer(path: str, method: str, status: str) -> Any:
        return document["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]

    the_pet = {"$ref": "#/components/schemas/Pet"}
    for path, method, status in [
        ("/py/pets", "post", "201"),
        ("/py/pets/{id}", "get", "200"),
        ("/py/pets/{id}", "put", "200"),
        ("/py/pets/{id}/restore", "post", "200"),
    ]:
        assert answer(path, method, status) == the_pet, (path, method, status)
    assert resolve(document, answer("/py/pets", "get", "200")["$ref"])["properties"]["items"]["items"] == the_pet
    assert resolve(document, answer("/py/pets/{id}", "put", "202")["$ref"])["properties"]["pet"] == the_pet
