"""The model providers, by name: how each is built, the key it needs, how its spec is written.

The one place that names a provider (STYLE.md: no provider-name checks outside
``equipage.llm``). A role's model is a spec, ``offline`` or ``<provider>:<model>``;
``spec_problem`` checks one for company.yaml, ``missing_key`` tells which environment
variable a spec still needs, ``default_spec`` is the demo's choice, and ``load_model``
(``equipage.llm.base``) imports a provider's module only when a role asks for it.
Adding a provider is one ``Provider`` row here and its module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from equipage.llm.options import ProviderOptions

__all__ = [
    "OFFLINE",
    "PROVIDERS",
    "Provider",
    "default_help",
    "default_spec",
    "env_variables",
    "key_variables",
    "missing_key",
    "options_from",
    "spec_help",
    "spec_problem",
]


@dataclass(frozen=True)
class Provider:
    """One model provider; ``factory`` is called as ``factory(model_id, options)``."""

    name: str
    factory: str  # "module:callable", imported on first use
    hint: str  # how to write its spec, in the error that lists them
    #: Environment variable of its API key (None: it needs none). ``ProviderOptions`` and
    #: ``Settings`` hold it under the variable's name in lowercase.
    key_variable: str | None = None
    base_url_variable: str | None = None  # where to point it at another endpoint
    takes_model: bool = True  # False: the spec is the bare name (``offline``)
    default_model: str | None = None  # what ``equipage demo`` runs when the key is set

    def api_key(self, options: ProviderOptions) -> str | None:
        """Its API key among ``options``; None when unset or when it needs none."""
        if self.key_variable is None:
            return None
        value = getattr(options, self.key_variable.lower(), None)
        return value if isinstance(value, str) and value else None


OFFLINE = "offline"

PROVIDERS: dict[str, Provider] = {
    p.name: p
    for p in (
        Provider(
            OFFLINE,
            "equipage.llm.offline:OfflineModel",
            "'offline' (no network)",
            takes_model=False,
        ),
        Provider(
            "anthropic",
            "equipage.llm.anthropic:AnthropicModel",
            "'anthropic:<model>' (e.g. anthropic:claude-haiku-4-5)",
            key_variable="ANTHROPIC_API_KEY",
            base_url_variable="ANTHROPIC_BASE_URL",
            default_model="claude-haiku-4-5",
        ),
        Provider(
            "openai",
            "equipage.llm.openai:OpenAIModel",
            "'openai:<model>' (any OpenAI-compatible API)",
            key_variable="OPENAI_API_KEY",
            base_url_variable="OPENAI_BASE_URL",
        ),
    )
}


def _listed(items: list[str]) -> str:
    """``a, b or c``."""
    return f"{', '.join(items[:-1])} or {items[-1]}" if len(items) > 1 else "".join(items)


def spec_problem(spec: str) -> str | None:
    """Why ``spec`` names no model a role can run, or None when it does."""
    name, colon, model = spec.partition(":")
    provider = PROVIDERS.get(name)
    if provider is not None:
        if provider.takes_model and colon and model.strip():
            return None
        if not provider.takes_model and spec == name:
            return None
    hints = [p.hint for p in PROVIDERS.values()]
    return f"unknown model {spec!r}; write {_listed(hints)}"


def spec_help() -> str:
    """How a role's model is written: ``'offline', 'anthropic:<model>' or ...``."""
    forms = [f"'{p.name}:<model>'" if p.takes_model else f"'{p.name}'" for p in PROVIDERS.values()]
    return _listed(forms)


def key_variables() -> tuple[str, ...]:
    """The environment variables of every provider's API key (secrets, all of them)."""
    return tuple(p.key_variable for p in PROVIDERS.values() if p.key_variable)


def env_variables() -> tuple[str, ...]:
    """Every environment variable a provider reads: its key, its endpoint."""
    named = ((p.key_variable, p.base_url_variable) for p in PROVIDERS.values())
    return tuple(name for pair in named for name in pair if name)


def options_from(env: Mapping[str, str]) -> ProviderOptions:
    """``ProviderOptions`` holding the providers' variables set in ``env``."""
    known = {f.name for f in fields(ProviderOptions)}
    # Every one of them is a string field; Any lets the fields' other types pass mypy.
    given: dict[str, Any] = {
        n.lower(): env[n] for n in env_variables() if env.get(n) and n.lower() in known
    }
    return replace(ProviderOptions(), **given)


def missing_key(spec: str, options: ProviderOptions) -> str | None:
    """The environment variable ``spec``'s provider needs and ``options`` lack, if any."""
    provider = PROVIDERS.get(spec.partition(":")[0])
    if provider is None or provider.key_variable is None or provider.api_key(options):
        return None
    return provider.key_variable


def default_spec(options: ProviderOptions) -> str:
    """The first provider with a default model whose key is set, else ``offline``."""
    for p in PROVIDERS.values():
        if p.default_model and p.api_key(options):
            return f"{p.name}:{p.default_model}"
    return OFFLINE


def default_help() -> str:
    """``default_spec`` in words, for a command's help."""
    rules = [
        f"{p.name}:{p.default_model} when {p.key_variable} is set"
        for p in PROVIDERS.values()
        if p.default_model and p.key_variable
    ]
    return ", ".join([*rules, f"else {OFFLINE}"])
