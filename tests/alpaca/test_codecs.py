"""ImageBytes and JSON ImageArray codecs."""

from __future__ import annotations

import itertools
import json
import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from torosdrivers.alpaca.protocol import (
    decode_imagebytes,
    decode_json_image,
    JsonImageStream,
    encode_imagebytes,
    encode_imagebytes_error,
    encode_json_image,
    wire_order,
)
from torosdrivers.errors import CommunicationError, InvalidOperationError


def joined(buffers) -> bytearray:
    return bytearray(b"".join(bytes(b) for b in buffers))


@given(height=st.integers(1, 300), width=st.integers(1, 300), seed=st.integers(0, 2**16))
def test_wire_order_is_the_transpose(height, width, seed):
    image = np.random.default_rng(seed).integers(0, 65536, (height, width)).astype(np.uint16)
    out = wire_order(image)
    assert out.flags.c_contiguous
    np.testing.assert_array_equal(out, image.T)


@pytest.mark.parametrize("dtype", [np.uint16, np.int16, np.int32, np.float64, np.uint8])
def test_imagebytes_round_trip(dtype):
    image = (np.random.default_rng(1).random((37, 301)) * 200).astype(dtype)
    body = joined(encode_imagebytes(image, 5, 6))
    fields = struct.unpack("<11i", body[:44])
    assert fields[2:4] == (5, 6) and fields[8:10] == (301, 37)
    out = decode_imagebytes(body)
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out, image)
    assert out.flags.writeable  # a view of the bytearray, no copy


def test_imagebytes_converts_a_wider_wire_type_in_one_copy():
    image = np.arange(12, dtype=np.int32).reshape(3, 4)
    body = joined(encode_imagebytes(image, 0, 0))
    body[20:24] = struct.pack("<i", 8)  # the camera's own type is UInt16, sent as Int32
    out = decode_imagebytes(body)
    assert out.dtype == np.uint16 and out.flags.c_contiguous
    np.testing.assert_array_equal(out, image)


def test_imagebytes_error_reply_raises_the_matching_error():
    with pytest.raises(InvalidOperationError, match="no image"):
        decode_imagebytes(encode_imagebytes_error(0x40B, "no image", 1, 2))


@pytest.mark.parametrize("cut", [10, 44, 60])
def test_truncated_imagebytes_is_a_communication_error(cut):
    body = joined(encode_imagebytes(np.zeros((10, 10), np.uint16), 0, 0))[:cut]
    with pytest.raises(CommunicationError, match="ImageBytes"):
        decode_imagebytes(body)


def test_imagebytes_rank_3_is_refused():
    body = joined(encode_imagebytes(np.zeros((2, 2), np.uint16), 0, 0))
    body[28:32] = struct.pack("<i", 3)
    with pytest.raises(CommunicationError, match="rank 3"):
        decode_imagebytes(body)


@given(height=st.integers(1, 40), width=st.integers(1, 40), seed=st.integers(0, 2**16))
def test_json_round_trip_and_validity(height, width, seed):
    image = np.random.default_rng(seed).integers(0, 65536, (height, width)).astype(np.uint16)
    body = joined(encode_json_image(image, 3, 4))
    reply = json.loads(body)  # valid JSON, with the padded cells
    assert reply["ClientTransactionID"] == 3 and reply["ErrorNumber"] == 0
    assert np.array_equal(np.array(reply["Value"]).T, image)
    np.testing.assert_array_equal(decode_json_image(body, np.uint16), image)


@given(height=st.integers(1, 30), width=st.integers(1, 30), seed=st.integers(0, 2**16),
       cuts=st.lists(st.integers(1, 200), min_size=1, max_size=40), floats=st.booleans())
def test_json_streamed_in_any_pieces_is_the_same_image(height, width, seed, cuts, floats):
    """Cut anywhere (inside a number, between the brackets of "]]", in the other members), the same image."""
    rng = np.random.default_rng(seed)
    image = rng.normal(0, 1e3, (height, width)) if floats else rng.integers(-2**31, 2**31, (height, width))
    body = json.dumps({"Type": 2, "Rank": 2, "Value": image.T.tolist(), "ErrorNumber": 0,
                       "ErrorMessage": "a ]] in a string"}).encode()
    stream, at = JsonImageStream(image.dtype), 0
    for size in itertools.cycle(cuts):
        if at >= len(body):
            break
        stream.feed(memoryview(body)[at : at + size])
        at += size
    np.testing.assert_array_equal(stream.finish(), image)


def test_json_float_images_take_the_generic_path():
    image = np.array([[0.5, -1.25], [3.0, 4.0]])
    out = decode_json_image(joined(encode_json_image(image, 0, 0)), np.float64)
    np.testing.assert_array_equal(out, image)


def test_json_error_reply_raises():
    body = b'{"ClientTransactionID":1,"ServerTransactionID":2,"ErrorNumber":1035,"ErrorMessage":"no image"}'
    with pytest.raises(InvalidOperationError, match="no image"):
        decode_json_image(body)


@pytest.mark.parametrize(
    "body, match",
    [
        (b"not json", "not JSON"),
        (b'{"Value":[[1,2],[3,x]],"ErrorNumber":0}', "not JSON|not a number"),
        (b'{"Value":[[[1],[2]]],"ErrorNumber":0}', "rank 3"),
        (b'{"Value":[[1,2],[3]],"ErrorNumber":0}', "values in 2 columns"),
        (b'{"Value":7,"ErrorNumber":0}', "no rank-2 Value"),
    ],
)
def test_malformed_json_images(body, match):
    with pytest.raises(CommunicationError, match=match):
        decode_json_image(body)
