"""Who makes a model and which family it belongs to, derived from its OpenRouter id. Pure.

Id anatomy: ``[~]author/slug[:variant]``.

* ``~`` marks an alias ("tilde-latest"), e.g. ``~anthropic/claude-sonnet-latest``; its record
  carries ``alias_target.slug``, the concrete id it routes to.
* ``author`` is the **upstream provider** (``meta-llama``, ``openai``, ``~x-ai`` -> ``x-ai``).
  An id without ``/`` has no upstream provider (null).
* ``:variant`` is a routing variant of the same model: ``free``, ``thinking``, ``beta``,
  ``extended``, ``exacto``, ``batch``, ... The id without it is the **base id**.

Model family rule (``model_family``), applied to the slug of the resolved id (the alias
target for ``~`` ids) with the author, the ``~`` and the ``:variant`` removed, lower-cased,
split on ``-``:

1. Sizes (``70b``, ``8x22b``, ``a22b``, ``e4b``, ``2.4t``, ``128k``) and dates/snapshots
   (``0324``, ``2507``, ``20250514``, ``05``) are never part of a family.
2. The family ends at the first **version token**: ``4``, ``4.1``, ``3.5``, ``4o``, ``3n``,
   ``v3``, ``v0.1``, or a name fused with a version such as ``qwen3``, ``r1``, ``k2``,
   ``m2.5``, ``o3``, ``flux.2``. Everything after it (sizes, tiers, ``instruct``,
   ``preview``, dates, ...) is dropped: ``llama-3.1-70b-instruct`` -> ``llama-3.1``,
   ``gpt-4o-mini-2024-07-18`` -> ``gpt-4o``, ``gemini-2.5-flash-lite`` -> ``gemini-2.5``,
   ``qwen3-235b-a22b`` -> ``qwen3``, ``deepseek-r1-distill-llama-70b`` -> ``deepseek-r1``.
   Versions are kept as written (minor included: ``claude-sonnet-4.5``, ``gpt-4.1``,
   ``qwen3.5``, ``deepseek-v3.2``); a minor release is its own family because OpenRouter
   prices and benchmarks it as a separate model.
3. Before the version, generic **tier** words (``mini nano micro tiny small medium large
   lite flash pro plus max ultra super turbo fast air premier high std``) and **qualifiers**
   (``instruct chat it preview exp experimental beta alpha latest base online free thinking
   think reasoning vision``) are dropped: ``gemini-flash-1.5`` -> ``gemini-1.5``,
   ``deepseek-chat-v3.1`` -> ``deepseek-v3.1``, ``nova-pro-v1`` -> ``nova-v1``.
4. Without any version token the family is the remaining name words:
   ``mistral-large-2411`` -> ``mistral``, ``command-r-plus-08-2024`` -> ``command-r``,
   ``gpt-oss-120b`` -> ``gpt-oss``, ``sonar-reasoning-pro`` -> ``sonar``. If nothing is
   left (``openrouter/free``) the first word is kept.
5. Named exceptions, each with its reason:
   * Claude: Anthropic's tiers ``haiku sonnet opus`` are separately versioned product lines
     (Sonnet 4.6 has no Haiku 4.6), so they stay in the family, in the id's own order:
     ``claude-3.7-sonnet``, ``claude-3.5-haiku-20241022`` -> ``claude-3.5-haiku``,
     ``claude-sonnet-4.5``, ``claude-opus-4.6-fast`` -> ``claude-opus-4.6``.
   * Spelling: ``qwen-2.5`` -> ``qwen2.5`` (Qwen's own spelling, so ``qwen-2.5-*`` and
     ``qwen2.5-*`` agree); ``llama3.1`` and the fine-tuners' ``l3.1`` (``sao10k/l3.1-euryale``)
     -> ``llama-3.1`` (Meta's spelling).
   * ``deepseek-chat`` -> ``deepseek-v3`` (OpenRouter's canonical slug for it is
     ``deepseek/deepseek-chat-v3``).
"""

from __future__ import annotations

import re
from functools import lru_cache

import polars as pl

_SIZE = re.compile(r"^(?:\d+(?:\.\d+)?[bmkt]|\d+x\d+(?:\.\d+)?b|a\d+(?:\.\d+)?b|e\d+b)$")
_DATE = re.compile(r"^(?:\d{2}|\d{4}|\d{6}|\d{8})$")
_VERSION = re.compile(r"^(?:v?\d+(?:\.\d+)*[a-z]?|[a-z]+\.?\d+(?:\.\d+)*(?:[a-z]\d*)?)$")

TIERS = frozenset(
    "mini nano micro tiny small medium large lite flash pro plus max ultra super turbo "
    "fast air premier high std".split()
)
QUALIFIERS = frozenset(
    "instruct chat it preview exp experimental beta alpha latest base online free "
    "thinking think reasoning vision".split()
)
# line name -> tier words that stay in the family when they follow the version
_TIERS_KEPT_AFTER_VERSION = {"claude": frozenset({"haiku", "sonnet", "opus", "instant"})}
_SPECIAL_SLUGS = {"deepseek-chat": "deepseek-v3"}
_SPELLING = (
    (re.compile(r"^qwen-(\d)"), r"qwen\1"),
    (re.compile(r"^llama(\d)"), r"llama-\1"),
    (re.compile(r"^l(\d)"), r"llama-\1"),
)


def split_variant(model_id: str) -> tuple[str, str | None]:
    """``"a/b:free"`` -> ``("a/b", "free")``; ``"a/b"`` -> ``("a/b", None)``."""
    base, sep, variant = model_id.rpartition(":")
    if not sep or not variant or "/" in variant:
        return model_id, None
    return base, variant


def upstream_provider(model_id: str) -> str | None:
    """The author before ``/``, without the ``~`` alias prefix; None when there is no ``/``."""
    author, sep, _ = model_id.removeprefix("~").partition("/")
    return author.lower() if sep and author else None


def _slug(model_id: str) -> str:
    base, _ = split_variant(model_id)
    base = base.removeprefix("~")
    return base.rpartition("/")[2].lower()


@lru_cache(maxsize=65536)
def model_family(model_id: str) -> str:
    """The family of a model id (or bare slug); see the module docstring for the rule."""
    slug = _slug(model_id)
    slug = _SPECIAL_SLUGS.get(slug, slug)
    tokens = [t for t in slug.split("-") if t]
    words = [t for t in tokens if not (_SIZE.match(t) or _DATE.match(t))]
    if not words:
        return tokens[0] if tokens else slug

    name: list[str] = []
    for i, token in enumerate(words):
        if _VERSION.match(token):
            family = [*name, token]
            kept = _TIERS_KEPT_AFTER_VERSION.get(name[0] if name else "")
            if kept and i + 1 < len(words) and words[i + 1] in kept:
                family.append(words[i + 1])
            return _spell("-".join(family))
        if token not in TIERS and token not in QUALIFIERS:
            name.append(token)
    return _spell("-".join(name) if name else words[0])


def _spell(family: str) -> str:
    for pattern, replacement in _SPELLING:
        family = pattern.sub(replacement, family)
    return family


# ---------------------------------------------------------------- polars expressions


def base_id_expr(column: str = "id") -> pl.Expr:
    return pl.col(column).str.replace(r":[^:/]+$", "")


def variant_expr(column: str = "id") -> pl.Expr:
    return pl.col(column).str.extract(r":([^:/]+)$", 1)


def upstream_provider_expr(column: str = "id") -> pl.Expr:
    return pl.col(column).str.extract(r"^~?([^/]+)/", 1).str.to_lowercase()


def model_family_series(ids: pl.Series) -> pl.Series:
    """``model_family`` over a Series, computed once per distinct id."""
    uniques = ids.unique()
    mapping = pl.DataFrame(
        {
            "_key": uniques,
            "_family": [model_family(v) if v is not None else None for v in uniques.to_list()],
        },
        schema={"_key": pl.String, "_family": pl.String},
    )
    return (
        ids.rename("_key").to_frame().join(mapping, on="_key", how="left", maintain_order="left")
    )["_family"]
