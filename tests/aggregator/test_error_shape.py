"""One error shape, documented: every error answer is `{error, detail[, errors]}` and `/openapi.json`
says so for every operation (a shared `ErrorOut` referenced by each error response)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aggregator.app import create_app
from tests.aggregator.conftest import Fleet
from tests.aggregator.factories import GRID, bearer, make_settings

ERROR_REF = "#/components/schemas/ErrorOut"


def assert_shape(reply, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert body["error"] == code and isinstance(body["detail"], str) and body["detail"]
    assert set(body) <= {"error", "detail", "errors"}
    return body


def test_an_unknown_path_is_a_404_in_the_shape(api: TestClient) -> None:
    body = assert_shape(api.get("/nowhere"), 404, "not_found")
    assert "/docs" in body["detail"]


def test_a_wrong_method_is_a_405_in_the_shape_with_allow(api: TestClient) -> None:
    reply = api.delete("/readings")
    body = assert_shape(reply, 405, "method_not_allowed")
    assert reply.headers["Allow"] == "GET, POST" and "DELETE" in body["detail"]


@pytest.mark.parametrize(
    ("path", "params", "where"),
    [
        ("/readings", {"limit": 0}, ["query", "limit"]),
        ("/readings", {"start": "yesterday"}, ["query", "start"]),
        ("/requests", {"status": "bogus"}, ["query", "status"]),
        ("/requests/0", {}, ["path", "request_id"]),
        ("/prosumers/not-an-address/profile", {}, ["path", "address"]),
    ],
)
def test_parameter_errors_are_422_in_the_shape_with_each_problem(
    api: TestClient, path: str, params: dict, where: list[str]
) -> None:
    body = assert_shape(api.get(path, params=params, headers=bearer(GRID)), 422, "invalid")
    assert [e["loc"] for e in body["errors"]] == [where] and all(
        set(e) == {"type", "loc", "msg"} for e in body["errors"]
    )


def test_an_unexpected_failure_is_a_500_in_the_shape(tmp_path: Path, fleet: Fleet) -> None:
    app = create_app(make_settings(tmp_path), registry_view=fleet.registry)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as api:
        body = assert_shape(api.get("/boom"), 500, "internal")
        assert "a bug" not in body["detail"]  # internals stay in the log


def test_the_document_names_one_error_model_for_every_error(api: TestClient) -> None:
    doc = api.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert set(schemas["ErrorOut"]["required"]) == {"error", "detail"}
    assert "errors" in schemas["ErrorOut"]["properties"]
    checked = 0
    for path, item in doc["paths"].items():
        for method, op in item.items():
            responses = op["responses"]
            for code, answer in responses.items():
                if not code.startswith(("4", "5")) or (path, code) == ("/health", "503"):
                    continue
                schema = answer["content"]["application/json"]["schema"]
                assert schema == {"$ref": ERROR_REF}, (method, path, code)
                if code in ("429", "503"):
                    assert answer["headers"]["Retry-After"]["required"] is True, (method, path, code)
                checked += 1
            secured = bool(op.get("security"))
            has_input = "requestBody" in op or bool(op.get("parameters"))
            if secured:
                assert "401" in responses and "429" in responses, (method, path)
            assert ("413" in responses) == ("requestBody" in op), (method, path)
            assert ("422" in responses) == has_input, (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)
    assert checked > 60
    assert "429" in doc["paths"]["/auth/challenge"]["post"]["responses"]


def test_a_batch_documents_that_any_item_is_answered(api: TestClient) -> None:
    doc = api.get("/openapi.json").json()
    readings = doc["components"]["schemas"]["ReadingBatchIn"]["properties"]["readings"]
    assert readings["maxItems"] == 5000 and readings["minItems"] == 1
    assert readings["items"]["anyOf"][0] == {"$ref": "#/components/schemas/ReadingIn"}
    assert doc["components"]["schemas"]["ReadingIn"]["additionalProperties"] is False
