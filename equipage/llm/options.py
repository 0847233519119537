"""What model providers take from the environment, passed down from ``config.Settings``."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ProviderOptions"]


@dataclass(frozen=True, repr=False)
class ProviderOptions:
    """Keys, endpoints and limits for model providers; never printed with its secrets."""

    anthropic_api_key: str | None = None
    anthropic_base_url: str | None = None
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    speech_api_key: str | None = None  # for a speech server company.yaml names
    timeout: float = 120.0  # seconds for one model call, streaming included
    max_retries: int = 4  # on 429, 529 and 5xx, honouring retry-after
    max_tokens: int = 4096  # output cap of one call; also the budget's worst case
    prompt_caching: bool = True  # cache the stable prefix where the provider supports it

    def __repr__(self) -> str:
        key = "***" if self.anthropic_api_key else None
        okey = "***" if self.openai_api_key else None
        skey = "***" if self.speech_api_key else None
        return (
            f"ProviderOptions(anthropic_api_key={key!r}, anthropic_base_url="
            f"{self.anthropic_base_url!r}, openai_api_key={okey!r}, openai_base_url="
            f"{self.openai_base_url!r}, speech_api_key={skey!r}, timeout={self.timeout}, "
            f"max_retries={self.max_retries}, max_tokens={self.max_tokens})"
        )
