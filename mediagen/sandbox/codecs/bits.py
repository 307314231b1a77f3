"""An MSB-first bit writer with the Exp-Golomb codes H.264 headers use."""

from __future__ import annotations


class BitWriter:
    """Accumulates bits most-significant first; `raw` appends whole bytes once byte-aligned."""

    def __init__(self) -> None:
        self._out = bytearray()
        self._acc = 0
        self._nbits = 0

    def u(self, width: int, value: int) -> None:
        """Append `value` as an unsigned integer of `width` bits."""
        if width == 0:
            return
        if value < 0 or value >> width:
            raise ValueError(f"{value} does not fit in {width} bits")
        self._acc = (self._acc << width) | value
        self._nbits += width
        while self._nbits >= 8:
            self._nbits -= 8
            self._out.append((self._acc >> self._nbits) & 0xFF)
        self._acc &= (1 << self._nbits) - 1

    def flag(self, value: bool) -> None:
        self.u(1, int(value))

    def ue(self, value: int) -> None:
        """Unsigned Exp-Golomb code (H.264 ue(v))."""
        code = value + 1
        length = code.bit_length()
        self.u(length - 1, 0)
        self.u(length, code)

    def se(self, value: int) -> None:
        """Signed Exp-Golomb code (H.264 se(v))."""
        self.ue(2 * value - 1 if value > 0 else -2 * value)

    @property
    def aligned(self) -> bool:
        return self._nbits == 0

    def align_zero(self) -> None:
        """Pad with zero bits to the next byte boundary."""
        if self._nbits:
            self.u(8 - self._nbits, 0)

    def trailing_bits(self) -> None:
        """rbsp_trailing_bits: a stop bit, then zeros to the byte boundary."""
        self.u(1, 1)
        self.align_zero()

    def raw(self, data: bytes) -> None:
        """Append whole bytes; the writer must be byte-aligned."""
        if self._nbits:
            raise ValueError("raw bytes need a byte-aligned writer")
        self._out += data

    def getvalue(self) -> bytes:
        if self._nbits:
            raise ValueError("the bit stream is not byte-aligned")
        return bytes(self._out)
