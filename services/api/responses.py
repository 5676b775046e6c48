"""Responses serialised once, by pydantic's Rust core, straight to bytes.

A route that returns a model makes FastAPI validate it against ``response_model`` again and
encode it a second time; the models here are already the response models (the routes keep
``response_model`` for the OpenAPI schema), so the list and detail routes return the bytes.
"""

from __future__ import annotations

from pydantic import BaseModel
from starlette.responses import Response


def json_bytes(model: BaseModel | list[BaseModel]) -> bytes:
    if isinstance(model, list):
        return b"[" + b",".join(item.model_dump_json().encode() for item in model) + b"]"
    return model.model_dump_json().encode()


def json_response(model: BaseModel | list[BaseModel] | bytes, status_code: int = 200) -> Response:
    body = model if isinstance(model, bytes) else json_bytes(model)
    return Response(body, status_code=status_code, media_type="application/json")
