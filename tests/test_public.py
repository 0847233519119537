"""The public surface: ``from equipage import X`` for what users, workflow authors and the
benchmarks use, loaded on first use, with type information shipped."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import equipage

ROOT = Path(__file__).resolve().parent.parent


def test_every_public_name_resolves_to_the_object_its_module_defines() -> None:
    exports = equipage._EXPORTS
    assert set(equipage.__all__) == {"__version__", *exports}
    for name, module in exports.items():
        defined = getattr(__import__(module, fromlist=[name]), name)
        assert getattr(equipage, name) is defined, name


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        equipage.Nope  # noqa: B018


def test_importing_the_package_loads_none_of_its_modules() -> None:
    # Lazy names keep `import equipage` cheap: the CLI, a plugin or a test that needs
    # one module does not pay for the crew, LangGraph and the SDKs.
    code = (
        "import sys, equipage; print(sorted(m for m in sys.modules if m.startswith('equipage.')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"


def test_the_package_ships_its_type_information() -> None:
    assert (ROOT / "equipage" / "py.typed").is_file()


def _equipage_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("equipage")
    ]


@pytest.mark.parametrize("folder", ["bench", "examples"])
def test_benchmarks_and_examples_import_only_the_public_surface(folder: str) -> None:
    # equipage.testing is the public kit of fake servers and waits; equipage.farm the farm's;
    # equipage.web the console's.
    private = {
        f"{path.relative_to(ROOT)}: {module}"
        for path in (ROOT / folder).rglob("*.py")
        for module in _equipage_imports(path)
        if module not in ("equipage", "equipage.farm", "equipage.web")
        and not module.startswith("equipage.testing")
    }
    assert private == set()
