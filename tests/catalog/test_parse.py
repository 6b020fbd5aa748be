"""Envelope, bare array and raw bytes are accepted; other shapes are a CatalogFormatError."""

from __future__ import annotations

import orjson
import pytest

from minerva_core.catalog import load_json, normalise_catalog, read_payload
from minerva_core.errors import CatalogError, CatalogFormatError
from tests.catalog.conftest import SNAPSHOT_DIR, make_record


def test_envelope_with_pagination_fields() -> None:
    body = {"data": [make_record()], "total_count": 1, "links": {"next": "/api/v1/models?offset=1"}}
    parsed = read_payload(body)
    assert parsed.shape == "envelope"
    assert parsed.total_count == 1
    assert parsed.next_link == "/api/v1/models?offset=1"
    assert len(parsed.records) == 1


def test_bare_array_is_accepted() -> None:
    catalog = normalise_catalog([make_record("a/one"), make_record("b/two")])
    assert catalog.shape == "bare"
    assert catalog.models["id"].to_list() == ["a/one", "b/two"]
    assert catalog.total_count is None


def test_real_bare_array_file_is_accepted_from_bytes() -> None:
    body = (SNAPSHOT_DIR / "models-2026-05-01-sorted-data-array.json").read_bytes()
    assert body.lstrip().startswith(b"[")
    catalog = normalise_catalog(body)
    assert catalog.shape == "bare"
    assert catalog.models.height == 371
    assert catalog.models["id"].to_list() == sorted(catalog.models["id"].to_list())


def test_bytes_with_keepalive_padding_and_bom() -> None:
    body = b"\n\n   " + orjson.dumps({"data": [make_record()]})
    assert normalise_catalog(body).models.height == 1
    assert load_json(b"\xef\xbb\xbf[]") == []
    assert normalise_catalog("[]").models.height == 0


def test_empty_catalog_has_typed_empty_frames() -> None:
    catalog = normalise_catalog({"data": []})
    assert catalog.models.height == catalog.prices.height == 0
    assert "price_hash" in catalog.prices.columns


def test_unknown_envelope_keys_reported() -> None:
    catalog = normalise_catalog({"data": [], "total_count": 0, "links": {"next": None}, "meta": {}})
    assert catalog.unknown_fields == ("envelope.meta",)


@pytest.mark.parametrize(
    "payload",
    [{"models": []}, {"data": {"id": "x"}}, {}, 42, None, "not json", b"{", "{\"data\": 3}"],
)
def test_other_shapes_are_format_errors(payload: object) -> None:
    with pytest.raises(CatalogFormatError):
        normalise_catalog(payload)
    assert issubclass(CatalogFormatError, CatalogError)
