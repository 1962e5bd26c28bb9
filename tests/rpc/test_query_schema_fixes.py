"""Schemas that say what can be known before run time (issue 22, point 6)."""

from __future__ import annotations

import jsonschema
import pytest

from pallets.governance.queries import CALL_VIEW
from pallets.support.argtypes import ArgError
from pallets.support.queries import TEXT, Struct, Typed
from rpc.queries import json_schema


def test_a_proposals_call_has_a_schema_not_only_a_description() -> None:
    schema = json_schema(CALL_VIEW)
    assert schema["required"] == ["raw"] and schema["additionalProperties"] is False
    decoded = {"pallet": "system", "function": "set_param", "args": {"value": 4}, "raw": "0x93"}
    jsonschema.validate(decoded, schema)
    jsonschema.validate({"raw": "0x00"}, schema)  # a call that does not decode
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"pallet": "system"}, schema)  # raw is always there
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"raw": "0x00", "color": 1}, schema)


def test_the_runtime_check_holds_the_same_shape() -> None:
    kind = Struct("call", (("pallet", TEXT),))
    with pytest.raises(ArgError, match="missing"):
        CALL_VIEW.check(Typed(kind, {"pallet": "system"}), "call")
