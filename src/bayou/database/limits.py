"""Per-transaction limits, with Convex's defaults and error codes (db-semantics.md §2.7)."""

from __future__ import annotations

from dataclasses import dataclass

from bayou.errors import BadRequest

MIB = 1 << 20


@dataclass(frozen=True, slots=True)
class TransactionLimits:
    documents_read: int = 32_000
    bytes_read: int = 16 * MIB
    index_ranges: int = 4_096
    documents_written: int = 16_000
    bytes_written: int = 16 * MIB


DEFAULT_LIMITS = TransactionLimits()


def too_many_documents_read(limit: int) -> BadRequest:
    return BadRequest(
        f"Too many documents read in a single function execution (limit: {limit}). "
        "Use an index (withIndex) to read fewer documents, or paginate.",
        code="TooManyDocumentsRead",
    )


def too_many_bytes_read(limit: int) -> BadRequest:
    return BadRequest(
        f"Too many bytes read in a single function execution (limit: {limit} bytes). "
        "Read fewer or smaller documents, or paginate.",
        code="TooManyBytesRead",
    )


def too_many_reads(limit: int) -> BadRequest:
    return BadRequest(
        f"Too many reads in a single function execution (limit: {limit} index ranges). "
        "Combine queries or paginate.",
        code="TooManyReads",
    )


def too_many_writes(limit: int) -> BadRequest:
    return BadRequest(
        f"Too many writes in a single function execution (limit: {limit} documents). "
        "Split the work across several mutations, e.g. with the scheduler.",
        code="TooManyWrites",
    )


def too_many_bytes_written(limit: int) -> BadRequest:
    return BadRequest(
        f"Too many bytes written in a single function execution (limit: {limit} bytes). "
        "Split the work across several mutations.",
        code="TooManyBytesWritten",
    )
