"""RFC 9457 problem details: every error the API returns is `application/problem+json`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = [
    "V1_RESPONSES",
    "Problem",
    "ProblemOut",
    "install_problem_handlers",
    "problem_openapi",
    "problem_response",
]

PROBLEM_JSON = "application/problem+json"


class ProblemOut(BaseModel):
    """An RFC 9457 problem document, as every error is answered."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    parameter: str | None = Field(default=None, description="The offending parameter.")
    errors: list[dict[str, str]] | None = Field(
        default=None, description="Each invalid parameter: parameter, in, problem.")


def _problem(description: str) -> dict[str, Any]:
    return {"model": ProblemOut, "description": description}


#: The errors every /v1 route may answer, documented in the OpenAPI schema.
V1_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _problem("A parameter is wrong (e.g. a cursor handed out for another sort)."),
    401: _problem("No token, or an unknown or revoked one."),
    404: _problem("No such person, team or item."),
    422: _problem("A parameter fails validation."),
}


def problem_openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """The app's OpenAPI with every 4xx/5xx body declared as application/problem+json."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version,
                                 description=app.description, routes=app.routes)
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    for code, response in operation.get("responses", {}).items():
                        content = response.get("content", {})
                        if code[0] in "45" and "application/json" in content:
                            response["content"] = {PROBLEM_JSON: content["application/json"]}
            schema.get("components", {}).get("schemas", {}).pop("HTTPValidationError", None)
            schema.get("components", {}).get("schemas", {}).pop("ValidationError", None)
            app.openapi_schema = schema
        return app.openapi_schema

    return openapi


class Problem(Exception):  # noqa: N818  (RFC 9457 calls it a problem)
    """An error to answer with a problem document."""

    def __init__(self, status: int, title: str, detail: str | None = None, *,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.extra = status, title, detail, extra
        self.headers = headers or {}


def problem_response(status: int, title: str, detail: str | None = None, *,
                     headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    """A problem+json response."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def install_problem_handlers(app: FastAPI) -> None:
    """Turn validation errors, HTTP errors and Problems into problem+json."""

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # loc is ("query", name[, index...]): name the parameter, not the list position.
        errors = [{"parameter": str(e["loc"][1]) if len(e["loc"]) > 1 else str(e["loc"][0]),
                   "in": str(e["loc"][0]), "problem": e["msg"]} for e in exc.errors()]
        names = ", ".join(e["parameter"] for e in errors)
        return problem_response(422, "Invalid request parameters", f"check {names}",
                                errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(exc.status_code, str(exc.detail),
                                headers=dict(exc.headers or {}))

    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.title, exc.detail, headers=exc.headers,
                                **exc.extra)
