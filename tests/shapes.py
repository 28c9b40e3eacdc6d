"""Compare a stand-in's JSON with a vendor's published example: same keys, same types."""

from __future__ import annotations

from typing import Any


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def shape_differences(actual: Any, example: Any, path: str = "$") -> list[str]:
    """Where `actual` lacks a field of `example` or has another JSON type there.

    Nulls match anything (examples often leave optional fields null); lists compare their
    first elements; fields the stand-in adds beyond the example are allowed.
    """
    if example is None or actual is None:
        return []
    if _kind(actual) != _kind(example):
        return [f"{path}: {_kind(actual)} where the example has {_kind(example)}"]
    out: list[str] = []
    if isinstance(example, dict):
        for key, value in example.items():
            if key not in actual:
                out.append(f"{path}.{key}: missing")
            else:
                out += shape_differences(actual[key], value, f"{path}.{key}")
    elif isinstance(example, list) and example and actual:
        out += shape_differences(actual[0], example[0], f"{path}[0]")
    return out


def assert_same_shape(actual: Any, example: Any) -> None:
    """Fail with every difference listed."""
    differences = shape_differences(actual, example)
    assert not differences, "\n".join(differences)
