"""Map the model a bill (or the ledger) names to an OpenRouter model id.

The ledger's ``model_used`` is normally an id ("anthropic/claude-sonnet-4.5"); the CSV export
names the permaslug ("anthropic/claude-4.5-sonnet-20250929"), which is ai_models.canonical_slug.
A ":free" (or other) variant shares its model's slug, so the CSV's ``variant`` column decides.

Rules, for each distinct (name, variant):

* id-first names (ledger, /activity ``model``, invoices): a known id maps to itself ("id");
  otherwise the slug rules below apply, then "unmapped".
* slug-first names (CSV ``model_permaslug``): models whose canonical_slug is the name are the
  candidates. One candidate: "slug". Several: keep those whose variant equals the line's
  variant ("standard"/"default"/"base"/empty mean no variant); one left: "variant". Still
  several, or none left: "ambiguous" - the base model (no variant) is chosen when there is
  exactly one, else the first id in order, and every candidate is listed for the report.
  No candidate: the name as an id (or "name:variant") if known ("id"/"variant"), else
  "unmapped" (the name is kept as the model).

Pure: reads two small frames, no I/O.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable

import polars as pl

_BASE_VARIANTS = frozenset({"", "standard", "default", "base", "none", "null"})
MAP_SCHEMA = {
    "name": pl.String, "variant": pl.String, "slug_first": pl.Boolean,
    "model_id": pl.String, "mapping": pl.String, "candidates": pl.String,
}


def normalise_variant(variant: str | None) -> str | None:
    if variant is None:
        return None
    value = variant.strip().lower().lstrip(":")
    return None if value in _BASE_VARIANTS else value


class ModelIndex:
    def __init__(self, models: pl.DataFrame | None) -> None:
        self.ids: set[str] = set()
        self.by_slug: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
        if models is None or models.height == 0:
            return
        for model_id, slug, variant in models.select("id", "canonical_slug", "variant").iter_rows():
            self.ids.add(model_id)
            if slug:
                self.by_slug[slug].append((model_id, normalise_variant(variant)))
        for candidates in self.by_slug.values():
            candidates.sort()

    def resolve(self, name: str, variant: str | None, *, slug_first: bool) -> tuple[str, str, str | None]:
        """(model_id, mapping, candidates) for one name as billed."""
        wanted = normalise_variant(variant)
        if not slug_first and name in self.ids:
            return name, "id", None
        candidates = self.by_slug.get(name, [])
        if len(candidates) == 1:
            return candidates[0][0], "slug", None
        if candidates:
            if variant is not None:
                chosen = [c for c in candidates if c[1] == wanted]
                if len(chosen) == 1:
                    return chosen[0][0], "variant", None
            elif name in self.ids:
                return name, "id", None
            bases = [c for c in candidates if c[1] is None]
            pick = bases[0][0] if len(bases) == 1 else candidates[0][0]
            return pick, "ambiguous", ", ".join(c[0] for c in candidates)
        if wanted is not None and f"{name}:{wanted}" in self.ids:
            return f"{name}:{wanted}", "variant", None
        if name in self.ids:
            return name, "id", None
        return name, "unmapped", None


def model_map(models: pl.DataFrame | None, names: Iterable[tuple[str | None, str | None, bool]]) -> pl.DataFrame:
    """One row per distinct (name, variant, slug_first) with its model id and how it mapped."""
    index = ModelIndex(models)
    rows = []
    for name, variant, slug_first in sorted(set(names), key=lambda t: (str(t[0]), str(t[1]), t[2])):
        if name is None:
            rows.append((None, variant, slug_first, None, "unmapped", None))
            continue
        model_id, mapping, candidates = index.resolve(name, variant, slug_first=slug_first)
        rows.append((name, variant, slug_first, model_id, mapping, candidates))
    return pl.DataFrame(rows, schema=MAP_SCHEMA, orient="row")
