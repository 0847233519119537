"""A path given to a workflow: the owner's reads anything, a model's only the crew's files.

A path a model or a member gives (``start_workflow``'s input, however it was prompted)
names a file sent with the request (by its name) or a file under the crew's files folder
(``.equipage/files/<company>/``): anything else is refused with the reason, whatever
``..``, an absolute path or a symlink says. A path the owner gives on their own command
line (``equipage workflow run coaching --set path=talk.srt``) is theirs to choose.

``stored_bytes`` is what a farm crew's files quota counts: the files its workflows wrote
in their folders under the crew's (the files at its top, its company.yaml, are its config).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

from equipage.envelope import Attachment
from equipage.errors import OffLimits

__all__ = ["given_file", "stored_bytes"]


def given_file(
    raw: str, *, root: Path, attachments: Sequence[Attachment] = (), by_owner: bool = False
) -> Path | Attachment:
    """The file ``raw`` names: a path, or the attachment of the request with that name.

    For anyone but the owner, a relative path is read under ``root`` (or, as the crew's
    own reports write it, from the working directory) and must name a file under ``root``
    once every symlink is resolved; OffLimits says why not.
    """
    text = raw.strip()
    sent = next((a for a in attachments if text in (a.name, f"./{a.name}")), None)
    if sent is not None:
        return sent
    if by_owner:
        return Path(text).expanduser()
    try:
        home = root.resolve()
        given = Path(text)
        tried = [given] if given.is_absolute() else [root / given, given]
        inside = [p.resolve() for p in tried if _under(p.resolve(), home)]
    except (OSError, ValueError, RuntimeError) as err:  # a NUL byte, a symlink loop
        raise OffLimits(_refusal(text, root, attachments, f" ({type(err).__name__})")) from err
    # A relative path may name a file the crew wrote as its reports print it (from the
    # working directory). A missing file is refused like one outside: the answer must not
    # tell what exists elsewhere on the machine.
    found = next((p for p in inside if p.is_file()), None)
    if found is None:
        raise OffLimits(_refusal(text, root, attachments))
    return found


def stored_bytes(root: Path) -> int:
    """Bytes of the files stored under ``root``'s folders; links are not followed."""
    total = 0
    try:
        folders = [p for p in root.iterdir() if p.is_dir() and not p.is_symlink()]
    except FileNotFoundError:
        return 0
    for folder in folders:
        for base, _, names in os.walk(folder):
            for name in names:
                path = os.path.join(base, name)
                try:
                    found = os.lstat(path)
                except OSError:
                    continue  # removed while counted
                if stat.S_ISREG(found.st_mode):
                    total += found.st_size
    return total


def _under(path: Path, home: Path) -> bool:
    return path == home or home in path.parents


def _refusal(raw: str, root: Path, attachments: Sequence[Attachment], why: str = "") -> str:
    names = ", ".join(a.name for a in attachments)
    sent = f" ({names})" if names else ""
    shown = raw if len(raw) <= 120 else raw[:117] + "..."
    return (
        f"no file {shown!r}{why} among the crew's files: a path given in chat may only name "
        f"a file sent with the request{sent} or a file under {os.fspath(root)}/, never one "
        "outside it (by '..', an absolute path or a link). Send the file with the request "
        "instead, or ask the owner to run it with `equipage workflow run`."
    )
