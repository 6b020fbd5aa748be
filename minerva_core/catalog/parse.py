"""Reading a ``GET /models`` body: the ``{"data": [...]}`` envelope or a bare JSON array. Pure.

Both shapes are real: the API answers with the envelope (plus ``total_count`` and
``links.next`` from 2026-08), while mirrors such as ``jq -c '.data | sort_by(.id)'`` store a
bare array. Anything else is a ``CatalogFormatError``. No I/O here: callers pass bytes or
the already-parsed object.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from minerva_core.catalog.schema import KNOWN_ENVELOPE_KEYS
from minerva_core.errors import CatalogFormatError

_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class CatalogPayload:
    """The model records of one /models body, plus what its envelope said."""

    records: Sequence[Any]
    shape: Literal["envelope", "bare"]
    total_count: int | None = None
    next_link: str | None = None
    unknown_envelope_keys: tuple[str, ...] = field(default=())


def load_json(body: bytes | bytearray | memoryview | str) -> Any:
    """Parse a response body. Leading whitespace (OpenRouter's keep-alive padding) and a
    UTF-8 byte-order mark are tolerated."""
    if isinstance(body, str):
        body = body.encode()
    body = bytes(body).lstrip()
    if body.startswith(_BOM):
        body = body[len(_BOM) :]
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise CatalogFormatError(f"catalog body is not JSON: {exc}") from exc


def read_payload(payload: Any) -> CatalogPayload:
    """Accept a parsed /models body (dict with ``data``, or a list) or its raw bytes/str."""
    if isinstance(payload, bytes | bytearray | memoryview | str):
        payload = load_json(payload)
    if isinstance(payload, list):
        return CatalogPayload(records=payload, shape="bare")
    if isinstance(payload, dict):
        data = payload.get("data")
        if not isinstance(data, list):
            raise CatalogFormatError(
                'catalog envelope has no "data" array'
                + (f" (keys: {sorted(payload)[:10]})" if payload else "")
            )
        total = payload.get("total_count")
        links = payload.get("links")
        next_link = links.get("next") if isinstance(links, dict) else None
        return CatalogPayload(
            records=data,
            shape="envelope",
            total_count=total if type(total) is int else None,
            next_link=next_link if isinstance(next_link, str) else None,
            unknown_envelope_keys=tuple(sorted(set(payload) - KNOWN_ENVELOPE_KEYS)),
        )
    raise CatalogFormatError(
        f"catalog payload must be a JSON object with 'data' or a JSON array, "
        f"not {type(payload).__name__}"
    )
