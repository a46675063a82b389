"""Schema errors name our fields and what was expected, never what the caller sent."""

from __future__ import annotations

from typing import Any

import pytest

from k8s_mcp_server.api.models import ToolRequest
from k8s_mcp_server.api.validation import InvalidArguments, validate_model

CANARY = "CANARY-7f3a"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"command": "get ns", "kubeconfig_b64": CANARY},
            "unknown argument (accepted: ",
        ),
        ({"command": "get ns", CANARY: "x"}, "unknown argument"),
        ({"command": [CANARY]}, "`command` must be a string"),
        ({"command": "get ns", "timeout": CANARY}, "`timeout` must be a number"),
        ({"command": "get ns", "timeout": -1}, "`timeout` must be greater than 0"),
        ({"command": "get ns", "namespace": CANARY}, "`namespace` does not have the expected form"),
        ({"command": CANARY * 10000}, "`command` is longer than 65536 characters"),
        ({}, "`command` is required"),
        ([CANARY], "the arguments must be a JSON object"),
        (CANARY, "the arguments must be a JSON object"),
    ],
)
def test_a_schema_error_says_what_was_expected_and_never_the_value(data: Any, expected: str) -> None:
    with pytest.raises(InvalidArguments) as info:
        validate_model(ToolRequest, data)
    text = f"{info.value.message} {info.value.problems}"
    assert expected in info.value.message
    assert CANARY not in text
    assert info.value.code == "invalid_arguments" and info.value.status == 422


def test_null_for_an_optional_field_is_accepted() -> None:
    body = validate_model(
        ToolRequest, {"command": "get ns", "namespace": None, "timeout": None, "kubeconfig": None}
    )
    assert (body.namespace, body.timeout, body.kubeconfig) == (None, None, None)
