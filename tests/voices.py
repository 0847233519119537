"""Real voice notes made at test time: espeak-ng speaks, opusenc (or ffmpeg) makes Ogg/Opus.

What Telegram and WhatsApp send for a voice note is Ogg/Opus; these are the same kind of
file, a few KB, made from a sentence. ``.ci/run`` installs the tools (Debian's espeak-ng
and opus-tools) when they are missing; a test that needs them is skipped, saying so,
only where they could not be installed.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

__all__ = ["voice_note"]

_MISSING = (
    "voice notes are made with espeak-ng and opusenc or ffmpeg: "
    "apt-get install -y espeak-ng opus-tools (.ci/run installs them)"
)


def voice_note(text: str, *, voice: str = "fr") -> bytes:
    """An Ogg/Opus recording of ``text`` spoken by espeak-ng in ``voice``'s language."""
    speak = shutil.which("espeak-ng")
    opusenc, ffmpeg = shutil.which("opusenc"), shutil.which("ffmpeg")
    if speak is None or (opusenc is None and ffmpeg is None):
        pytest.skip(_MISSING)
    with tempfile.TemporaryDirectory() as folder:
        wav, ogg = Path(folder) / "note.wav", Path(folder) / "note.ogg"
        subprocess.run([speak, "-v", voice, "-w", str(wav), text], check=True, timeout=60)
        if opusenc is not None:
            encode = [opusenc, "--quiet", str(wav), str(ogg)]
        else:
            encode = [
                str(ffmpeg),
                "-loglevel",
                "error",
                "-i",
                str(wav),
                "-c:a",
                "libopus",
                str(ogg),
            ]
        subprocess.run(encode, check=True, timeout=60)
        return ogg.read_bytes()
