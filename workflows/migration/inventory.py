"""Read inventory files of any supported format into one ``Inventory``.

Formats read: a Cloud Asset Inventory export (JSON array, or NDJSON as ``gcloud asset
export`` writes: one record per line), a Terraform plan or state as ``terraform show -json``
prints it, and a raw Terraform state file (v4). Anything else is refused with a message
that names these formats. Every record read is counted, so the plan can prove nothing was
dropped.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from equipage.errors import InputRejected
from equipage.inputs import check_size
from workflows.migration.cai import from_cai
from workflows.migration.resource import Resource
from workflows.migration.tfjson import from_plan, from_state
from workflows.migration.values import null_placeholders

__all__ = ["FORMATS", "MAX_BYTES", "Inventory", "parse_text", "read_inventory"]

FORMATS = (
    "a Cloud Asset Inventory export (JSON array or NDJSON from 'gcloud asset export'), "
    "a Terraform plan or state as 'terraform show -json' prints it, "
    "or a Terraform state file (format version 4)"
)
#: Default largest inventory file or pasted content read (``workflows.migration.max_bytes``):
#: a Cloud Asset Inventory export is about 2 KB a resource, so 20 MB is some ten thousand
#: resources; parsing JSON takes several times its size in memory.
MAX_BYTES = 20 * 1024 * 1024
_TOO_LARGE = "export one project or asset type at a time"


class Inventory(BaseModel):
    """Every resource read, and how many records the files held."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    resources: tuple[Resource, ...] = ()
    records: int = 0
    files: tuple[str, ...] = ()
    formats: tuple[str, ...] = ()


def _load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        if "{{" not in text:
            raise
    # Templated files hold bare placeholders where numbers go: those values are unknown.
    return json.loads(null_placeholders(text))


def _ndjson(text: str, source: str) -> list[Any] | None:
    records: list[Any] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(_load_json(line))
        except json.JSONDecodeError as err:
            if number == 1:
                return None
            raise InputRejected(
                f"{source}: line {number} is not JSON ({err.msg}); an NDJSON export holds "
                "one JSON record per line. Export it again with 'gcloud asset export'."
            ) from err
    return records


def _is_cai(record: Any) -> bool:
    return isinstance(record, dict) and ("asset_type" in record or "assetType" in record)


def parse_text(text: str, source: str) -> tuple[list[Resource], str]:
    """Resources in one file's text, and the name of the format it was read as."""
    if not text.strip():
        raise InputRejected(f"{source} is empty; send {FORMATS}.")
    try:
        doc: Any = _load_json(text)
    except json.JSONDecodeError:
        doc = None
    if doc is None:
        lines = _ndjson(text, source)
        if lines is None:
            raise InputRejected(f"{source} is not JSON, so it cannot be read; send {FORMATS}.")
        if not all(_is_cai(r) for r in lines):
            raise InputRejected(
                f"{source} holds JSON lines that are not Asset Inventory records (no "
                f"'asset_type'); send {FORMATS}."
            )
        return from_cai(lines, source), "cai-ndjson"
    if isinstance(doc, list) and all(_is_cai(r) for r in doc):
        return from_cai(doc, source), "cai-json"
    if _is_cai(doc):
        return from_cai([doc], source), "cai-json"
    if isinstance(doc, dict) and ("planned_values" in doc or "resource_changes" in doc):
        return from_plan(doc, source), "terraform-plan"
    if isinstance(doc, dict) and isinstance(doc.get("values"), dict):
        return from_plan(doc, source), "terraform-show-state"
    if isinstance(doc, dict) and isinstance(doc.get("resources"), list):
        if doc.get("version") != 4:
            raise InputRejected(
                f"{source} is a Terraform state of format version {doc.get('version')}; only "
                "version 4 is read. Run 'terraform show -json' and send its output instead."
            )
        return from_state(doc, source), "terraform-state"
    raise InputRejected(f"{source} is JSON but not a format this workflow reads; send {FORMATS}.")


def _unique(resources: list[Resource]) -> list[Resource]:
    """Give repeated names a suffix: generated files and the runbook refer to them by name."""
    seen: Counter[str] = Counter()
    out = []
    for resource in resources:
        key = f"{resource.kind}:{resource.name}"
        seen[key] += 1
        if seen[key] > 1:
            resource = resource.model_copy(update={"name": f"{resource.name}-{seen[key]}"})
        out.append(resource)
    return out


def read_inventory(
    paths: Sequence[str | Path] = (),
    inline: str = "",
    sent: Sequence[tuple[str, str]] = (),
    max_bytes: int = MAX_BYTES,
) -> Inventory:
    """Read every file, inline content and the files sent in chat (``(name, text)``);
    InputRejected says what was wrong and how to fix it. A file or content over
    ``max_bytes`` is refused before any is read."""
    if not paths and not inline.strip() and not sent:
        raise InputRejected(
            f"no inventory was given; send the export with your request, give file paths, or "
            f"paste the content of {FORMATS}."
        )
    resources: list[Resource] = []
    formats: list[str] = []
    files: list[str] = []
    texts: list[tuple[str, str]] = []
    for raw in paths:
        path = Path(raw)
        if not path.is_file():
            raise InputRejected(f"there is no file at {path}; check the path and send it again.")
        check_size("migration", "inventory", path, max_bytes, instead=_TOO_LARGE)
    check_size("migration", "inventory content", inline, max_bytes, instead=_TOO_LARGE)
    for raw in paths:
        path = Path(raw)
        try:
            texts.append((path.name, path.read_text(encoding="utf-8")))
        except UnicodeDecodeError as err:
            raise InputRejected(f"{path} is not UTF-8 text; send {FORMATS}.") from err
        files.append(str(path))
    if inline.strip():
        texts.append(("inline content", inline))
        files.append("inline content")
    for name, text in sent:
        texts.append((name, text))
        files.append(name)
    for source, text in texts:
        found, kind = parse_text(text, source)
        resources.extend(found)
        formats.append(kind)
    return Inventory(
        resources=tuple(_unique(resources)),
        records=len(resources),
        files=tuple(files),
        formats=tuple(formats),
    )
