"""Compressed bodies decoded as they arrive, with a bound on what they may expand to.

A few kilobytes of brotli can expand to gigabytes. Decoding the whole input at once and
checking the size afterwards lets such a body take all the memory it expands to; these
decoders instead produce output in small steps and stop as soon as the output passes the
limit, so a body costs at most `limit` bytes (plus one step) however it was compressed.

Codings are those of `Content-Encoding` (RFC 9110): `gzip`, `deflate` (zlib-wrapped),
`br`, and `identity`. Nothing here knows HTTP, so any reader of compressed data (request
bodies today, imports later) can use it; each step is plain CPU work that a caller may run
in a thread.
"""

from __future__ import annotations

import zlib

import brotli

CODINGS = ("gzip", "deflate", "br")
# Output produced by one decoding step: the most a decoder holds beyond its limit. brotli
# may double a step's buffer once, so it overshoots by up to twice this.
STEP_BYTES = 1 << 20


class TooLarge(Exception):
    """The decoded data passed the limit (decoding stopped there)."""


class InvalidData(Exception):
    """The input is not valid data of its coding (or ends early)."""


class UnknownCoding(Exception):
    """A coding other than identity, gzip, deflate and br."""


class BoundedDecoder:
    """Decodes one stream fed in pieces; `output` holds at most `limit` decoded bytes.

    `feed(piece)` for each piece as it arrives, then `finish()` for the whole output.
    Raises `TooLarge` as soon as the output would pass `limit`, `InvalidData` for input that
    is not of the coding.
    """

    def __init__(self, coding: str | None, limit: int) -> None:
        self.coding = (coding or "identity").strip().lower() or "identity"
        self.limit = limit
        self.output = bytearray()
        self._zlib: zlib._Decompress | None = None
        self._brotli: brotli.Decompressor | None = None
        if self.coding == "gzip":
            self._zlib = zlib.decompressobj(wbits=31)
        elif self.coding == "deflate":
            self._zlib = zlib.decompressobj(wbits=15)
        elif self.coding == "br":
            self._brotli = brotli.Decompressor()
        elif self.coding != "identity":
            raise UnknownCoding(self.coding)

    @property
    def compressed(self) -> bool:
        """Whether decoding costs CPU (anything but identity)."""
        return self.coding != "identity"

    def feed(self, data: bytes) -> None:
        """Decode one more piece of input."""
        if self._zlib is not None:
            self._feed_zlib(data)
        elif self._brotli is not None:
            self._drain_brotli(data)
        else:
            self._take(data)

    def finish(self) -> bytearray:
        """The whole decoded output; `InvalidData` if the input stopped mid-stream."""
        if self._zlib is not None:
            self._take(self._zlib.flush())
            if not self._zlib.eof:
                raise InvalidData(f"the {self.coding} data ends early")
        elif self._brotli is not None:
            self._drain_brotli(b"")
            if not self._brotli.is_finished():
                raise InvalidData("the br data ends early")
        return self.output

    def _room(self) -> int:
        """How much one step may produce: one byte past the limit detects passing it."""
        return min(self.limit - len(self.output) + 1, STEP_BYTES)

    def _take(self, out: bytes) -> None:
        if len(self.output) + len(out) > self.limit:
            raise TooLarge
        self.output += out

    def _feed_zlib(self, data: bytes) -> None:
        decoder = self._zlib
        assert decoder is not None
        while data:
            if decoder.eof:
                data = self._next_gzip_member(data)
                decoder = self._zlib
                assert decoder is not None
                continue
            try:
                out = decoder.decompress(data, self._room())
            except zlib.error as e:
                raise InvalidData(str(e)) from None
            self._take(out)
            # Input left over is either past the end of this stream or waits for room.
            data = decoder.unused_data if decoder.eof else decoder.unconsumed_tail

    def _next_gzip_member(self, data: bytes) -> bytes:
        """gzip allows several members back to back (and zero padding after the last)."""
        if self.coding != "gzip" or not data.startswith(b"\x1f"):
            if data.strip(b"\x00"):
                raise InvalidData(f"unexpected data after the end of the {self.coding} stream")
            return b""
        self._zlib = zlib.decompressobj(wbits=31)
        return data

    def _drain_brotli(self, data: bytes) -> None:
        # `process` stops growing its output at `output_buffer_limit` (brotli >= 1.2) and
        # keeps the rest for later calls with empty input, until one yields nothing.
        decoder = self._brotli
        assert decoder is not None
        while True:
            try:
                out = decoder.process(data, output_buffer_limit=self._room())
            except brotli.error as e:
                raise InvalidData(str(e)) from None
            data = b""
            self._take(out)
            if not out:
                return
