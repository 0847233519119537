"""Read YAML within limits, so that any file, however written, ends in data or a ConfigError.

PyYAML builds an alias as a reference to its anchor, but everything that walks the result
afterwards (the position index, pydantic) copies it: nine lines of nine aliases each
become 9**9 values (the "billion laughs"). Aliases are for reusing a small block, so the
values they repeat are counted while composing, before anything expands them.
"""

from __future__ import annotations

import yaml

from equipage.errors import ConfigError

__all__ = ["ALIAS_BUDGET", "MAX_DEPTH", "compose", "construct", "load"]

#: Values (scalars, lists and mappings) that all the aliases of one file may repeat.
ALIAS_BUDGET = 10_000

#: Nesting of lists and mappings, aliases expanded; company.yaml needs about six.
MAX_DEPTH = 100


def compose(text: str, path: str) -> yaml.Node | None:
    """The node tree of the one document in ``text`` (None when empty), within the limits."""
    try:
        loader = _Loader(text, path)
    except yaml.YAMLError as err:  # the reader checks every character up front
        raise _config_error(err, text, path) from err
    try:
        return loader.get_single_node()
    except yaml.YAMLError as err:
        raise _config_error(err, text, path) from err
    finally:
        loader.dispose()


def load(text: str, path: str) -> object:
    """The Python data of the one document in ``text`` (None when empty), within the limits.

    Every YAML Equipage reads comes through here or ``compose``, never ``yaml.safe_load``.
    """
    node = compose(text, path)
    return None if node is None else construct(node, path)


def construct(node: yaml.Node, path: str) -> object:
    """The Python data of ``node``; a value YAML cannot convert is a ConfigError at its line."""
    loader = _Loader("", path)
    try:
        return loader.construct_document(node)
    except yaml.YAMLError as err:
        raise _config_error(err, "", path) from err
    finally:
        loader.dispose()


class _Loader(yaml.SafeLoader):
    """SafeLoader that counts what aliases repeat and how deep the document nests."""

    def __init__(self, text: str, path: str) -> None:
        super().__init__(text)
        self._path = path
        self._repeated = 0
        self._depth = 0
        self._measured: dict[int, tuple[int, int]] = {}

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in the stubs
        if isinstance(event, yaml.AliasEvent):
            self._check_alias(event)
            return super().compose_node(parent, index)
        if self._depth >= MAX_DEPTH:
            raise self._refuse(
                event,
                f"lists and mappings are nested more than {MAX_DEPTH} deep here; "
                "company.yaml never needs that many levels: close the brackets",
            )
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node: yaml.Node, deep: bool = False) -> object:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as err:  # e.g. a date 2026-13-45, a 5000-digit int
            found = repr(node.value) if isinstance(node, yaml.ScalarNode) else "this value"
            found = found if len(found) <= 60 else found[:57] + "..."
            raise self._refuse(
                node, f"cannot read {found} ({err}); quote it to keep it as text"
            ) from err

    def _check_alias(self, event: yaml.AliasEvent) -> None:
        node = self.anchors.get(event.anchor)
        if node is None:
            return  # PyYAML reports the undefined alias
        if node.end_mark is None:  # still being composed: the alias is inside its anchor
            raise self._refuse(
                event,
                f"the alias *{event.anchor} is inside the block &{event.anchor} it repeats, "
                "which would repeat forever; write the values out instead",
            )
        size, depth = _measure(node, self._measured)
        self._repeated += size
        if self._repeated > ALIAS_BUDGET:
            raise self._refuse(
                event,
                f"with the alias *{event.anchor}, aliases repeat more than {ALIAS_BUDGET} "
                "values; aliases are limited to reusing small blocks: write the values "
                "out instead of multiplying them",
            )
        if self._depth + depth > MAX_DEPTH:
            raise self._refuse(
                event,
                f"the alias *{event.anchor} nests lists and mappings more than "
                f"{MAX_DEPTH} deep; write the values out instead",
            )

    def _refuse(self, where: yaml.Event | yaml.Node, message: str) -> ConfigError:
        mark = where.start_mark
        if mark is None:
            return ConfigError(message, path=self._path)
        return ConfigError(
            f"column {mark.column + 1}: {message}", path=self._path, line=mark.line + 1
        )


def _measure(node: yaml.Node, measured: dict[int, tuple[int, int]]) -> tuple[int, int]:
    """How many values ``node`` holds, itself included, and how deep they nest."""
    known = measured.get(id(node))
    if known is not None:
        return known
    size, depth = 1, 0
    if isinstance(node, yaml.SequenceNode | yaml.MappingNode):
        children = (
            node.value
            if isinstance(node, yaml.SequenceNode)
            else [part for pair in node.value for part in pair]
        )
        for child in children:
            child_size, child_depth = _measure(child, measured)
            size += child_size
            depth = max(depth, child_depth)
        depth += 1
    measured[id(node)] = (size, depth)
    return size, depth


def _config_error(err: yaml.YAMLError, text: str, path: str) -> ConfigError:
    """The ConfigError for one of PyYAML's errors, at its line and column."""
    if isinstance(err, yaml.reader.ReaderError):
        # The reader gives an offset into the text, not a line.
        line = text.count("\n", 0, err.position) + 1
        column = err.position - (text.rfind("\n", 0, err.position) + 1) + 1
        return ConfigError(
            f"column {column}: U+{err.character:04X} is a character YAML does not allow; "
            "remove it (an editor saving in UTF-16, or a copy from a binary file, leaves such "
            "characters)",
            path=path,
            line=line,
        )
    if isinstance(err, yaml.MarkedYAMLError):
        mark = err.problem_mark or err.context_mark
        problem = ": ".join(part for part in (err.context, err.problem) if part)
        return ConfigError(
            (f"column {mark.column + 1}: " if mark else "")
            + f"this is not valid YAML ({problem}); check the indentation (spaces, never tabs), "
            "the colons, and quote values that contain ': ' or start with "
            "'{', '[', '*', '&' or '@'",
            path=path,
            line=mark.line + 1 if mark else None,
        )
    return ConfigError(f"this is not valid YAML ({err})", path=path)
