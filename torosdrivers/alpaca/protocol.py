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
    "JsonImageStream",
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
    """Numpy image ``[y, x]`` from a whole JSON ``ImageArray`` reply (see `JsonImageStream`).

    Raises
    ------
    DriverError
        The reply carries a non-zero ErrorNumber.
    CommunicationError
        The reply is malformed or not a rank-2 image.
    """
    stream = JsonImageStream(native)
    view = memoryview(body)
    for at in range(0, len(view), JsonImageStream.CHUNK):
        stream.feed(view[at : at + JsonImageStream.CHUNK])
    return stream.finish()


class JsonImageStream:
    """A JSON ``ImageArray`` reply parsed piece by piece as it arrives, without per-pixel objects.

    Each piece of the ``Value`` array, cut at its last comma, has its
    brackets blanked and numpy's C parser reads its numbers, so a 4k
    frame's ~100 MB of text is never held whole and is parsed while the
    rest is still on the wire (the reply's other members, read with the
    json module, are short). Call `feed` with each piece in order, then
    `finish`.
    """

    CHUNK = 4 << 20  #: bytes a caller should feed at a time: large enough for numpy, small beside a frame

    def __init__(self, native: np.dtype | type = np.int32) -> None:
        self._native = native
        self._outside = bytearray()  # the reply without its array: before it, then (``_after``) after it
        self._after: bytearray | None = None
        self._inside = False
        self._carry = b""  # the unfinished number at the end of the last piece
        self._parts: list[np.ndarray] = []
        self._brackets = 0

    def feed(self, piece: bytes | bytearray | memoryview) -> None:
        """Take the next piece of the reply."""
        if self._after is not None:
            self._after += piece
            return
        if not self._inside:
            self._outside += piece
            piece = self._enter(complete=False)
            if piece is None:
                return
        text = self._carry + bytes(piece)
        end = text.find(b"]]")
        if end >= 0:  # the array ends here; what follows is the reply's other members
            self._parse(text[: end + 2])
            self._after, self._carry = bytearray(text[end + 2 :]), b""
            return
        cut = text.rfind(b",")
        if cut < 0:
            self._carry = text
            if len(text) > 2 * self.CHUNK:
                raise CommunicationError("ImageArray holds no comma in 8 MB: not an image")
            return
        self._parse(text[:cut])
        self._carry = text[cut + 1 :]

    def _enter(self, complete: bool) -> bytes | None:
        """The array's first bytes once they (and enough to see its rank) are in, else None."""
        start = self._outside.find(b'"Value"')
        open_at = self._outside.find(b"[", start) if start >= 0 else -1
        if open_at < 0 or len(self._outside) - open_at < 64 and not complete:
            return None
        if re.match(rb"\[\s*\[\s*\[", bytes(self._outside[open_at : open_at + 64])):
            raise CommunicationError("ImageArray of rank 3 (colour) is not supported")
        piece, self._inside = bytes(self._outside[open_at:]), True
        del self._outside[start:]
        self._outside += b'"Value":0'
        return piece

    def _parse(self, text: bytes) -> None:
        self._brackets += text.count(b"[")
        flat = text.translate(_BRACKETS)
        if not flat.strip():
            return
        # The element type is Int32 (Type 2); a fraction means Double. Integers are tried first: numpy stops
        # (and warns) at a '.' or an 'e', which costs nothing on the usual integer frame.
        for dtype in (np.int32, np.float64):
            with warnings.catch_warnings():
                warnings.simplefilter("error", DeprecationWarning)  # numpy warns, not raises, on junk
                try:
                    self._parts.append(np.fromstring(flat, dtype=dtype, sep=","))
                    return
                except (ValueError, DeprecationWarning) as exc:
                    problem = exc
        raise CommunicationError(f"ImageArray holds a value that is not a number: {problem}")

    def finish(self) -> np.ndarray:
        """The image ``[y, x]`` in the camera's own type ``native``; the reply's error if it carries one."""
        import json

        if not self._inside:  # a reply shorter than the look-ahead
            first = self._enter(complete=True)
            if first is not None:
                self.feed(first)
        reply = self._outside + (self._after or b"")
        try:
            meta = json.loads(bytes(reply)) if self._inside else json.loads(bytes(self._outside))
        except ValueError as exc:
            raise CommunicationError(f"ImageArray reply is not JSON: {bytes(reply[:80])!r}") from exc
        if not isinstance(meta, dict):
            raise CommunicationError(f"ImageArray reply is not a JSON object: {bytes(reply[:80])!r}")
        if meta.get("ErrorNumber"):
            raise error_for_code(int(meta["ErrorNumber"]), str(meta.get("ErrorMessage", "")))
        if self._after is None:
            raise CommunicationError("ImageArray reply has no rank-2 Value array")
        columns = self._brackets - 1
        fraction = any(p.dtype.kind == "f" for p in self._parts)  # one Double makes the whole image Double
        values = np.concatenate(self._parts, dtype=np.float64 if fraction else np.int32) \
            if len(self._parts) > 1 else (self._parts or [np.empty(0, np.int32)])[0]
        self._parts = []
        if columns <= 0 or values.size % columns:
            raise CommunicationError(f"ImageArray has {values.size} values in {columns} columns")
        xy = values.reshape(columns, values.size // columns)
        out = np.empty((xy.shape[1], xy.shape[0]), dtype=self._native)
        np.copyto(out, xy.T, casting="unsafe")
        return out
