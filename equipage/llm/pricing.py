"""A dated, sourced price table per model, and the cost of a call from its usage.

Prices are per million tokens, in the table's currency (USD: the providers publish in
USD). An Anthropic model missing here (a newer release) is charged at the provider's
most expensive row, so budgets still bind, too tightly rather than not at all; add its
row to charge it right. An OpenAI-compatible model missing here is *unpriced*: its
calls cost 0 and budgets cannot bind it; self-hosted models (vLLM, Ollama) are the
usual case. Prices change: check the source, then update the row and its date.
"""

from __future__ import annotations

from dataclasses import dataclass

from equipage.llm.messages import Usage

__all__ = ["CURRENCY", "PRICES", "Price", "cost", "price_of", "worst_case"]

CURRENCY = "USD"
#: Providers that always bill: an unknown model of theirs gets a conservative price.
_PAID_PROVIDERS = frozenset({"anthropic"})
_ANTHROPIC = "https://docs.anthropic.com/en/docs/about-claude/pricing"


@dataclass(frozen=True)
class Price:
    """USD per million tokens; cache writes are the 5-minute cache's rate."""

    input: float
    output: float
    cache_write: float
    cache_read: float
    as_of: str
    source: str


#: ``provider:model`` -> price. Dated model ids (``claude-sonnet-4-5-20250929``) and
#: ``-latest`` aliases resolve to the row whose key they start with.
PRICES: dict[str, Price] = {
    "anthropic:claude-opus-4-5": Price(5.0, 25.0, 6.25, 0.50, "2025-11-24", _ANTHROPIC),
    "anthropic:claude-opus-4-1": Price(15.0, 75.0, 18.75, 1.50, "2025-08-05", _ANTHROPIC),
    "anthropic:claude-opus-4": Price(15.0, 75.0, 18.75, 1.50, "2025-05-22", _ANTHROPIC),
    "anthropic:claude-sonnet-4-5": Price(3.0, 15.0, 3.75, 0.30, "2025-09-29", _ANTHROPIC),
    "anthropic:claude-sonnet-4": Price(3.0, 15.0, 3.75, 0.30, "2025-05-22", _ANTHROPIC),
    "anthropic:claude-haiku-4-5": Price(1.0, 5.0, 1.25, 0.10, "2025-10-15", _ANTHROPIC),
    "anthropic:claude-3-5-haiku": Price(0.80, 4.0, 1.0, 0.08, "2024-11-04", _ANTHROPIC),
}


def price_of(spec: str) -> Price | None:
    """The price of ``provider:model``, matching the longest row the id starts with."""
    if spec in PRICES:
        return PRICES[spec]
    matches = [key for key in PRICES if spec.startswith(key)]
    if matches:
        return PRICES[max(matches, key=len)]
    provider = spec.partition(":")[0]
    if provider in _PAID_PROVIDERS:
        rows = [p for key, p in PRICES.items() if key.startswith(f"{provider}:")]
        top = max(rows, key=lambda p: p.output)
        return Price(top.input, top.output, top.cache_write, top.cache_read, "fallback", top.source)
    return None


def cost(spec: str, usage: Usage) -> float:
    """What a call cost, from its usage; 0 for an unpriced model."""
    price = price_of(spec)
    if price is None:
        return 0.0
    return (
        usage.input_tokens * price.input
        + usage.output_tokens * price.output
        + usage.cache_write_tokens * price.cache_write
        + usage.cache_read_tokens * price.cache_read
    ) / 1_000_000


def worst_case(spec: str, input_tokens: int, max_output_tokens: int) -> float:
    """The most a call can cost: every input token written to the cache, full output."""
    price = price_of(spec)
    if price is None:
        return 0.0
    top_input = max(price.input, price.cache_write)
    return (input_tokens * top_input + max_output_tokens * price.output) / 1_000_000
