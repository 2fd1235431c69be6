"""Column types and canonical serialisation shared by the registry."""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from radiotrial.errors import ValidationError

__all__ = ["UTCDateTime", "canonical_json", "sha256_hex", "to_jsonable", "utcnow"]


def utcnow() -> datetime:
    """The current time, timezone-aware UTC, to the microsecond."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes stored as UTC on every backend.

    SQLite has no time-zone type, so values are normalised to UTC on the way in and given the UTC
    offset back on the way out; naive datetimes are refused rather than guessed.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValidationError(
                "datetime", value.isoformat(), "must be timezone-aware (e.g. ...T09:30+08:00)"
            )
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def to_jsonable(value: Any) -> Any:
    """Plain JSON values for canonical hashing: datetimes as UTC ISO 8601, floats by repr."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError("value", value, "NaN and infinity cannot be recorded")
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        # never copy ciphertext into audit rows: its digest identifies the version
        return "sha256:" + hashlib.sha256(bytes(value)).hexdigest()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    raise ValidationError("value", repr(value), f"cannot serialise {type(value).__name__}")


def canonical_json(value: Any) -> str:
    """Canonical JSON text: sorted keys, no insignificant whitespace, UTF-8, no NaN.

    Notes
    -----
    Follows the spirit of RFC 8785 (JSON Canonicalization Scheme): one byte sequence per value so
    that hashes are reproducible across Python, SQLite and PostgreSQL round trips. Floats use
    Python's shortest round-trip ``repr``.
    """
    return json.dumps(
        to_jsonable(value),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


def sha256_hex(text: str) -> str:
    """SHA-256 of UTF-8 text, lower-case hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
