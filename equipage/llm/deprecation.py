"""An SDK's deprecation warning for a model name becomes one log line, never an error.

The ``anthropic`` SDK (2.17) warns ``DeprecationWarning`` on every call naming a model
due for retirement. The API still answers it, yet a run under ``-W error`` (ours, or a
user's) would fail each call, and an unfiltered run repeats the warning. The
end-of-life date is read from the warning's text: the SDK keeps its table of dates in a
private module.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Callable
from typing import TypeVar

__all__ = ["logged"]

T = TypeVar("T")
_END_OF_LIFE = re.compile(r"end-of-life on (.+?)\.?$", re.MULTILINE)
#: ``provider:model`` -> whether its SDK deprecates it; learnt on the model's first call.
_known: dict[str, bool] = {}


def logged(call: Callable[[], T], *, vendor: str, model_id: str, log: logging.Logger) -> T:
    """``call()``, with a deprecation of ``model_id`` logged once per process, not warned.

    ``call`` is synchronous on purpose: the warning filter is process-wide while it is
    set, so it must not stay set across an ``await`` where other coroutines run.
    """
    spec = f"{vendor.lower()}:{model_id}"
    if _known.get(spec) is False:
        return call()  # checked once: nothing to catch, and no filter to touch
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DeprecationWarning)
        result = call()
    notice = None
    for warning in caught:
        if issubclass(warning.category, DeprecationWarning) and model_id in str(warning.message):
            notice = str(warning.message)
        else:  # not ours to judge: back through the caller's filters, as if never caught
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    if notice is not None and spec not in _known:
        log.warning("%s", _line(vendor, model_id, notice))
    _known[spec] = notice is not None
    return result


def _line(vendor: str, model_id: str, said: str) -> str:
    found = _END_OF_LIFE.search(said)
    when = f" and reaches end-of-life on {found.group(1)}" if found else ""
    return f"model {model_id} is deprecated by {vendor}{when}: choose a newer model in company.yaml"
