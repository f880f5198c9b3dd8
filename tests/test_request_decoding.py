"""Decoding a request body straight into its message gives the general path's.

The server decodes most bodies directly into the message struct and leaves
the rest to the general path (Python objects, limit checks, key renaming,
conversion).  Whatever a body holds, the direct decode either gives the
general path's message or steps aside for it.
"""

import json
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.api import messages as m
from tracker.errors import InvalidParameter
from tracker.http.request_parsing import _decoded_directly, _json_fields, _to_message

MESSAGES = [m.LogBatch, m.SearchRuns, m.CreateRun, m.LogInputs, m.GetMetricHistory]

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "12", "1.5", "x", "\x00"]),
    st.text(max_size=8),
)
_keys = st.sampled_from(
    [
        "run_id",
        "runId",
        "run_uuid",
        "metrics",
        "params",
        "tags",
        "key",
        "value",
        "timestamp",
        "step",
        "experiment_ids",
        "experimentIds",
        "max_results",
        "maxResults",
        "order_by",
        "page_token",
        "filter",
        "datasets",
        "dataset",
        "source_type",
        "sourceType",
        "unknown",
        "Run_Id",
    ]
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=5)
    ),
    max_leaves=30,
)
_bodies = st.dictionaries(_keys, _values, max_size=6)


def general(body: bytes, message: type[msgspec.Struct]) -> Any:
    try:
        return _to_message(_json_fields(body), message)
    except InvalidParameter as error:
        return error


def same(direct: msgspec.Struct, expected: Any) -> bool:
    # Compared as JSON, where a NaN equals itself.
    if not isinstance(expected, msgspec.Struct):
        return False
    return msgspec.json.encode(direct) == msgspec.json.encode(expected)


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: m.__name__)
@given(fields=_bodies, ascii_only=st.booleans())
def test_a_direct_decode_is_the_general_paths_message_or_none(
    message: type[msgspec.Struct], fields: dict[str, Any], ascii_only: bool
) -> None:
    body = json.dumps(fields, ensure_ascii=ascii_only).encode()

    direct = _decoded_directly(body, message)

    if direct is not None:
        assert same(direct, general(body, message))


def test_a_plain_batch_is_decoded_directly() -> None:
    body = json.dumps(
        {
            "run_id": "r",
            "metrics": [{"key": "loss", "value": "NaN", "timestamp": "5", "step": 1}],
            "tags": [{"key": "mlflow.user", "value": "Ada"}],
        }
    ).encode()

    direct = _decoded_directly(body, m.LogBatch)

    assert direct is not None
    assert same(direct, general(body, m.LogBatch))


@pytest.mark.parametrize(
    "body",
    [
        b'{"runId": "r"}',
        b'{"run_id": "r", "Unknown" : 1}',
        b'{"run_id": "r", "tags": [{"key": "k", "value": "\\u0000"}]}',
        b'{"run_id": 5}',
        b"[1, 2]",
    ],
    ids=["camel key", "unknown key", "escaped NUL", "wrong type", "not an object"],
)
def test_a_body_the_general_path_must_see_is_left_to_it(body: bytes) -> None:
    assert _decoded_directly(body, m.LogBatch) is None
