"""A path given to a workflow: the crew's files or the request's, unless the owner gave it."""

from __future__ import annotations

from pathlib import Path

import pytest

from equipage.crewfiles import given_file
from equipage.envelope import Attachment
from equipage.errors import OffLimits

SENT = Attachment(name="talk.srt", mime="text/plain", ref="F1", text="1\n00:00:00,000 --> ...")


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The crew's files under its home (the working directory), a secret beside the home."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.chdir(home)
    files = Path(".equipage/files/acme")
    (files / "coaching").mkdir(parents=True)
    (files / "coaching" / "report.md").write_text("ours")
    (tmp_path / "secret.env").write_text("KEY=1")
    return files


def test_a_file_sent_with_the_request_is_named_by_its_name(root: Path) -> None:
    assert given_file("talk.srt", root=root, attachments=(SENT,)) == SENT
    assert given_file("./talk.srt", root=root, attachments=(SENT,)) == SENT


def test_a_file_of_the_crew_is_found_relative_to_its_folder_or_as_reports_print_it(
    root: Path,
) -> None:
    report = (root / "coaching" / "report.md").resolve()
    assert given_file("coaching/report.md", root=root) == report
    assert given_file(".equipage/files/acme/coaching/report.md", root=root) == report
    assert given_file(str(report), root=root) == report


def test_a_link_inside_the_crews_files_to_another_of_its_files_is_followed(root: Path) -> None:
    (root / "latest.md").symlink_to(Path("coaching/report.md"))
    assert given_file("latest.md", root=root) == (root / "coaching" / "report.md").resolve()


@pytest.mark.parametrize(
    "raw",
    [
        "../../../secret.env",
        "coaching/../../../../secret.env",
        "{secret}",  # absolute, outside
        "link.env",  # a symlink out of the folder
        "../secret.env",  # cwd-relative, outside
        "missing.srt",  # refused like the others: nothing tells what exists elsewhere
        "bad\0name",
        "~/secret.env",
    ],
)
def test_any_other_path_from_chat_is_refused_with_the_reason(
    root: Path, tmp_path: Path, raw: str
) -> None:
    (root / "link.env").symlink_to(tmp_path / "secret.env")
    given = raw.format(secret=tmp_path / "secret.env")
    with pytest.raises(OffLimits) as refused:
        given_file(given, root=root, attachments=(SENT,))
    assert "a path given in chat may only name a file sent with the request (talk.srt)" in str(
        refused.value
    )
    assert "KEY=1" not in str(refused.value)


def test_the_owners_own_path_is_theirs_to_choose(root: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.env"
    assert given_file(str(secret), root=root, by_owner=True) == secret
