"""Inflating a compressed HTTP body without trusting its size: one inflater for the suite's
client and the proxy's checks.

A gzip bomb of 64 KiB can claim gigabytes; the inflater hands out at most `step` bytes per
call and stops at a cap, so memory follows the cap, never the claim."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator

# The content codings inflated here; any other (br, zstd, compress) is not read at all.
CODINGS = frozenset({"gzip", "x-gzip", "deflate"})
STEP = 64 * 1024


class TooLarge(Exception):
    """The inflated body passed its cap."""


class NotInflatable(Exception):
    """The body is not valid data of its content coding."""


def coding_of(header: str | None) -> str | None:
    """The one content coding to undo: None for identity or no header; the coding's name
    otherwise (lower case), also for codings this module cannot undo."""
    if not header:
        return None
    codings = [c.strip().lower() for c in header.split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        return None
    # Several codings applied in turn are undone last first; one is what servers send.
    return codings[-1] if len(codings) == 1 else ",".join(codings)


def inflate(chunks: Iterable[bytes], coding: str, cap: int, step: int = STEP) -> Iterator[bytes]:
    """The inflated body of `chunks` (compressed with `coding`), at most `step` bytes at a
    time; raises TooLarge past `cap` inflated bytes and NotInflatable for broken data.
    `deflate` takes a zlib stream (RFC 9110) and, as browsers do, a raw one."""
    if coding not in CODINGS:
        raise NotInflatable(f"content coding {coding!r} is not one this reader inflates")
    # 32 + MAX_WBITS: a gzip or zlib header, detected; raw deflate is tried on a failure.
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)
    total = 0
    started = False
    for raw in chunks:
        data = raw
        while data:
            try:
                out = inflater.decompress(data, step)
            except zlib.error as exc:
                if started or coding != "deflate":
                    raise NotInflatable(str(exc)) from None
                inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                try:
                    out = inflater.decompress(data, step)
                except zlib.error as raw_exc:
                    raise NotInflatable(str(raw_exc)) from None
            started = True
            total += len(out)
            if total > cap:
                raise TooLarge(f"over {cap} bytes once inflated")
            if out:
                yield out
            data = inflater.unconsumed_tail
            if inflater.eof:
                # Bytes after the end of the stream are not part of the body.
                return
    try:
        rest = inflater.flush()
    except zlib.error as exc:
        raise NotInflatable(str(exc)) from None
    total += len(rest)
    if total > cap:
        raise TooLarge(f"over {cap} bytes once inflated")
    if rest:
        yield rest
    if not inflater.eof and started:
        raise NotInflatable("the compressed body ends before its stream does")


def inflate_all(raw: bytes, coding: str, cap: int) -> bytes:
    """`raw` inflated whole, at most `cap` bytes (TooLarge past it, NotInflatable if broken)."""
    return b"".join(inflate([raw], coding, cap))


__all__ = ["CODINGS", "STEP", "NotInflatable", "TooLarge", "coding_of", "inflate", "inflate_all"]
