"""The model ids tests use, in one place: priced, and not deprecated by the locked SDK.

A test that talks to an SDK, or needs a price, takes its model from here, so that when
a lock refresh brings an SDK that deprecates one of them (anthropic warns on every call,
and the suite turns warnings into errors) one line changes, and
``test_the_models_tests_use_are_priced_and_not_deprecated`` says which.
"""

from __future__ import annotations

__all__ = ["ANTHROPIC_TEST_MODEL", "HAIKU_SPEC", "SONNET_SPEC"]

#: The model id given to the ``anthropic`` SDK; its prompt-cache minimum is 1024 tokens.
ANTHROPIC_TEST_MODEL = "claude-sonnet-4-5"
#: A priced ``provider:model`` spec, for budgets and cost checks.
SONNET_SPEC = f"anthropic:{ANTHROPIC_TEST_MODEL}"
#: The cheapest priced Anthropic spec, and the default of ``equipage demo``.
HAIKU_SPEC = "anthropic:claude-haiku-4-5"
