"""ASCOM Alpaca wire formats shared by the client backends and the server.

Facts from the ASCOM Alpaca API reference and the ImageBytes note
(AlpacaImageBytes.pdf): a 44-byte little-endian header of eleven int32, then
the pixels in ``[x][y]`` order (the JSON ``ImageArray`` order, which is the
transpose of a numpy image ``[y, x]``).

The JSON image codec here never builds one Python object per pixel: the
encoder turns pixels into text with a lookup table, the decoder parses the
digits with numpy.
"""

from __future__ import annotations

import enum
import re
import struct
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..errors import CommunicationError, error_for_code

__all__ = [
    "API_VERSION",
    "DISCOVERY_PORT",
    "DISCOVERY_MESSAGE",
    "IMAGEBYTES",
    "ElementType",
    "ImageBytesHeader",
    "encode_imagebytes",
    "encode_imagebytes_error",
    "decode_imagebytes",
    "encode_json_image",
    "decode_json_image",
    "wire_order",
]

API_VERSION = 1
DISCOVERY_PORT = 32227
DISCOVERY_MESSAGE = b"alpacadiscovery1"
IMAGEBYTES = "application/imagebytes"

_HEADER = struct.Struct("<11i")
HEADER_SIZE = _HEADER.size  # 44


class ElementType(enum.IntEnum):
    """ImageBytes element types."""

    UNKNOWN = 0
    INT16 = 1
    INT32 = 2
    DOUBLE = 3
    SINGLE = 4
    UINT64 = 5
    BYTE = 6
    INT64 = 7
    UINT16 = 8


_NUMPY = {
    ElementType.INT16: np.dtype("<i2"),
    ElementType.INT32: np.dtype("<i4"),
    ElementType.DOUBLE: np.dtype("<f8"),
    ElementType.SINGLE: np.dtype("<f4"),
    ElementType.UINT64: np.dtype("<u8"),
    ElementType.BYTE: np.dtype("u1"),
    ElementType.INT64: np.dtype("<i8"),
    ElementType.UINT16: np.dtype("<u2"),
}
_BY_DTYPE = {dtype.newbyteorder("="): kind for kind, dtype in _NUMPY.items()}


def element_type(dtype: np.dtype) -> ElementType:
    """ImageBytes element type of a numpy dtype."""
    kind = _BY_DTYPE.get(np.dtype(dtype).newbyteorder("="))
    if kind is None:
        raise ValueError(f"no ImageBytes element type for {dtype}")
    return kind


class ImageBytesHeader(tuple):
    """The eleven header fields, by name."""

    __slots__ = ()
    _fields = (
        "metadata_version", "error_number", "client_transaction_id", "server_transaction_id",
        "data_start", "image_element_type", "transmission_element_type", "rank",
        "dimension1", "dimension2", "dimension3",
    )

    def __getattr__(self, name: str) -> int:
        try:
            return self[self._fields.index(name)]
        except ValueError:
            raise AttributeError(name) from None


_TILE = 256
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="toros-transpose")


def wire_order(image: np.ndarray) -> np.ndarray:
    """``image.T`` as a C-ordered array: the ``[x][y]`` order of the wire.

    A plain transposing copy strides through memory; copying 256x256 tiles
    keeps each in cache, and two threads share the tiles (numpy releases the
    GIL while copying), about three times faster on a 4k frame.
    """
    if image.flags.f_contiguous and not image.flags.c_contiguous:
        return image.T  # already [x][y] in memory (an image received from the wire)
    height, width = image.shape
    out = np.empty((width, height), image.dtype)

    def band(y: int) -> None:
        for x in range(0, width, _TILE):
            out[x : x + _TILE, y : y + _TILE] = image[y : y + _TILE, x : x + _TILE].T

    list(_POOL.map(band, range(0, height, _TILE)))
    return out


def encode_imagebytes(image: np.ndarray, client_tid: int, server_tid: int) -> list[bytes | memoryview]:
    """ImageBytes reply for a numpy image ``[y, x]``, as buffers to send in turn.

    The pixels go out in ``[x][y]`` order (`wire_order`): one transposing
    copy, the only one.
    """
    kind = element_type(image.dtype)
    width, height = image.shape[1], image.shape[0]
    header = _HEADER.pack(1, 0, client_tid, server_tid, HEADER_SIZE, kind, kind, 2, width, height, 0)
    pixels = wire_order(np.asarray(image, dtype=_NUMPY[kind]))
    return [header, memoryview(pixels).cast("B")]


def encode_imagebytes_error(number: int, message: str, client_tid: int, server_tid: int) -> bytes:
    """ImageBytes reply carrying an error number and message."""
    return _HEADER.pack(1, number, client_tid, server_tid, HEADER_SIZE, 0, 0, 0, 0, 0, 0) + message.encode("utf-8")


def decode_imagebytes(body: bytes | bytearray | memoryview, native: np.dtype | None = None) -> np.ndarray:
    """Numpy image ``[y, x]`` from an ImageBytes reply, without a copy where possible.

    When the wire type is the wanted type, the result is a view of ``body``
    (Fortran-ordered, since the wire is ``[x][y]``); otherwise one converting
    copy in C order.

    Parameters
    ----------
    body
        The whole reply body.
    native
        Type to return; by default the header's ImageElementType (so a
        16-bit camera sent as Int32 comes back as ``uint16``).

    Raises
    ------
    DriverError
        The header carries a non-zero error number (the matching subclass).
    CommunicationError
        The reply is malformed.
    """
    if len(body) < HEADER_SIZE:
        raise CommunicationError(f"ImageBytes reply of {len(body)} bytes is shorter than its 44-byte header")
    head = ImageBytesHeader(_HEADER.unpack_from(body, 0))
    if head.error_number:
        message = bytes(body[head.data_start:]).decode("utf-8", "replace")
        raise error_for_code(head.error_number, message)
    try:
        wire = _NUMPY[ElementType(head.transmission_element_type)]
        image_type = _NUMPY.get(ElementType(head.image_element_type), wire)
    except (ValueError, KeyError) as exc:
        raise CommunicationError(f"ImageBytes element type {head.transmission_element_type} is not supported") from exc
    if head.rank != 2:
        raise CommunicationError(f"ImageBytes rank {head.rank}: only monochrome (rank 2) images are supported")
    count = head.dimension1 * head.dimension2
    if len(body) - head.data_start != count * wire.itemsize:
        raise CommunicationError(
            f"ImageBytes reply has {len(body) - head.data_start} data bytes, expected "
            f"{count * wire.itemsize} for {head.dimension1}x{head.dimension2} {wire}"
        )
    xy = np.frombuffer(body, dtype=wire, count=count, offset=head.data_start).reshape(head.dimension1, head.dimension2)
    target = np.dtype(native) if native is not None else image_type.newbyteorder("=")
    if wire == target:
        # No copy at all: [y, x] is the transposed view of the received buffer
        # (Fortran-ordered; writable when ``body`` is a bytearray).
        return xy.T
    out = np.empty((head.dimension2, head.dimension1), dtype=target)
    np.copyto(out, xy.T, casting="unsafe")  # one copy: the type conversion, in C order
    return out


# -- JSON ImageArray ---------------------------------------------------------------

def _cell_table() -> np.ndarray:
    """Text of 0..99999 as six bytes each: right-aligned, space padded, then a comma.

    JSON allows white space before a number, so fixed-width cells are valid
    JSON, and a whole image becomes text with one gather.
    """
    values = np.arange(100_000)
    table = np.full((values.size, 6), ord(" "), np.uint8)
    for k in range(5):
        digit = (values // 10**k) % 10
        shown = (values >= 10**k) | (k == 0)
        table[:, 4 - k] = np.where(shown, ord("0") + digit, ord(" "))
    table[:, 5] = ord(",")
    return table.view("V6").ravel()


_CELLS: np.ndarray | None = None


def encode_json_image(image: np.ndarray, client_tid: int, server_tid: int) -> list[bytes | memoryview]:
    """JSON ``ImageArray`` reply for a numpy image ``[y, x]``, as buffers to send in turn.

    Unsigned 8- and 16-bit images (every CCD this serves) become text by a
    table gather in whole-array operations; other types take the json module.
    """
    global _CELLS
    head = b'{"Type":2,"Rank":2,"Value":'
    tail = (
        f',"ClientTransactionID":{client_tid},"ServerTransactionID":{server_tid},'
        f'"ErrorNumber":0,"ErrorMessage":""}}'
    ).encode()
    if image.dtype not in (np.uint16, np.uint8):
        import json

        return [head + json.dumps(image.T.tolist(), separators=(",", ":")).encode() + tail]
    if _CELLS is None:
        _CELLS = _cell_table()
    width, height = image.shape[1], image.shape[0]
    cells = np.take(_CELLS, image.T).view(np.uint8).reshape(width, height * 6)
    text = np.empty((width, height * 6 + 2), np.uint8)  # "[" cells... "]" ","
    text[:, 0] = ord("[")
    text[:, 1:-1] = cells
    text[:, height * 6] = ord("]")  # the last cell's comma closes the row
    text[:, -1] = ord(",")
    text[-1, -1] = ord("]")  # and the last row closes the array
    return [head + b"[", memoryview(text).cast("B"), tail]


_BRACKETS = bytes.maketrans(b"[]", b"  ")


def decode_json_image(body: bytes | bytearray, native: np.dtype | type = np.int32) -> np.ndarray:
    """Numpy image ``[y, x]`` from a JSON ``ImageArray`` reply, without per-pixel objects.

    The ``Value`` array is cut out of the text, its brackets blanked, and
    numpy's C parser reads the numbers; the other members are read with the
    json module from what remains.

    Raises
    ------
    DriverError
        The reply carries a non-zero ErrorNumber.
    CommunicationError
        The reply is malformed or not a rank-2 image.
    """
    import json

    start = body.find(b'"Value"')
    open_at = body.find(b"[", start) if start >= 0 else -1
    if open_at >= 0 and re.match(rb"\[\s*\[\s*\[", bytes(body[open_at : open_at + 64])):
        raise CommunicationError("ImageArray of rank 3 (colour) is not supported")
    close_at = body.find(b"]]", open_at) if open_at >= 0 else -1
    try:
        meta = json.loads(bytes(body[:start]) + b'"Value":0' + bytes(body[close_at + 2 :]) if close_at >= 0 else body)
    except ValueError as exc:
        raise CommunicationError(f"ImageArray reply is not JSON: {bytes(body[:80])!r}") from exc
    if not isinstance(meta, dict):
        raise CommunicationError(f"ImageArray reply is not a JSON object: {bytes(body[:80])!r}")
    if meta.get("ErrorNumber"):
        raise error_for_code(int(meta["ErrorNumber"]), str(meta.get("ErrorMessage", "")))
    if close_at < 0:
        raise CommunicationError("ImageArray reply has no rank-2 Value array")
    array_text = bytes(memoryview(body)[open_at : close_at + 2])  # one copy, for bytes or bytearray
    columns = array_text.count(b"[") - 1
    flat = array_text.translate(_BRACKETS)
    del array_text  # each full-size text copy is released as soon as it is used
    # The JSON ImageArray element type is Int32 (Type 2); a fraction means Double.
    dtype = np.float64 if any(c in flat for c in (b".", b"e", b"E")) else np.int32
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # numpy warns, not raises, on junk
        try:
            values = np.fromstring(flat, dtype=dtype, sep=",")
        except (ValueError, DeprecationWarning) as exc:
            raise CommunicationError(f"ImageArray holds a value that is not a number: {exc}") from exc
    del flat
    if columns <= 0 or values.size % columns:
        raise CommunicationError(f"ImageArray has {values.size} values in {columns} columns")
    xy = values.reshape(columns, values.size // columns)
    out = np.empty((xy.shape[1], xy.shape[0]), dtype=native)
    np.copyto(out, xy.T, casting="unsafe")
    return out
