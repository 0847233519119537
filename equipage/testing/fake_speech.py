"""A fake OpenAI-compatible transcription server on 127.0.0.1, for the real ``openai`` SDK.

It speaks the protocol of ``POST /v1/audio/transcriptions``, as OpenAI, Mistral,
faster-whisper-server and whisper.cpp's server do: a multipart form with ``file``,
``model``, optional ``language`` and ``response_format`` (``json``, ``text`` or
``verbose_json``, the last with the detected language and the duration). Tests script
what the next audio says; the server checks that the file is audio it can time (an
Ogg/Opus note: its duration is read off the last page's granule position), records each
request, and answers in the asked format::

    async with FakeSpeech() as fake:
        fake.say("Bonjour l'équipe", language="french")
        client = openai.AsyncOpenAI(base_url=fake.url, api_key="no-key")

Simplifications: one segment per answer; words are scripted, not recognised; a file that
is not Ogg is accepted with a duration of 0 (the server does not say one).
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from equipage.testing.fake_server import FakeServer

__all__ = ["FakeSpeech", "Heard", "ogg_opus_seconds"]

_OPUS_RATE = 48_000  # Opus granule positions count samples at 48 kHz, whatever the input


@dataclass(frozen=True)
class Heard:
    """One request the server received: the form's fields and the file's bytes."""

    model: str
    filename: str
    content_type: str
    audio: bytes
    language: str | None
    response_format: str
    authorization: str


class FakeSpeech(FakeServer):
    """Answers transcription requests with scripted words; records what it was sent."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[Heard] = []
        self._said: deque[tuple[str, str]] = deque()
        self._failures: deque[int] = deque()

    @property
    def url(self) -> str:
        """What to pass as ``base_url`` (and as ``speech.base_url`` in company.yaml)."""
        return f"{self.origin}/v1"

    def say(self, text: str, *, language: str = "english") -> None:
        """The words the next audio holds, and the language verbose_json reports."""
        self._said.append((text, language))

    def fail_next(self, status: int) -> None:
        """Answer the next request with ``status`` and an OpenAI-shaped error body."""
        self._failures.append(status)

    def routes(self) -> list[BaseRoute]:
        return [Route("/v1/audio/transcriptions", self._transcribe, methods=["POST"])]

    async def _transcribe(self, request: Request) -> Response:
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            return _error(400, "the body must be multipart/form-data")
        async with request.form() as form:  # closes the uploaded file's spool
            upload, model = form.get("file"), form.get("model")
            if not isinstance(upload, UploadFile) or not isinstance(model, str) or not model:
                return _error(400, "the form needs a file and a model")
            audio = await upload.read()
            filename, content_type = upload.filename or "", upload.content_type or ""
            language = form.get("language")
            response_format = str(form.get("response_format") or "json")
        self.requests.append(
            Heard(
                model=model,
                filename=filename,
                content_type=content_type,
                audio=audio,
                language=language if isinstance(language, str) else None,
                response_format=response_format,
                authorization=request.headers.get("authorization", ""),
            )
        )
        if self._failures:
            return _error(self._failures.popleft(), "scripted failure")
        if not audio:
            return _error(400, "the file is empty")
        text, detected = self._said.popleft() if self._said else ("", "english")
        if response_format == "text":
            return PlainTextResponse(text)
        if response_format != "verbose_json":
            return JSONResponse({"text": text})
        seconds = ogg_opus_seconds(audio) or 0.0
        segment = {"id": 0, "start": 0.0, "end": seconds, "text": text}
        return JSONResponse(
            {
                "task": "transcribe",
                "language": detected,
                "duration": seconds,
                "text": text,
                "segments": [segment] if text else [],
            }
        )


def ogg_opus_seconds(data: bytes) -> float | None:
    """The length of an Ogg/Opus file: its last granule position less the pre-skip."""
    if not data.startswith(b"OggS"):
        return None
    head = data.find(b"OpusHead")
    last = data.rfind(b"OggS")
    if head < 0 or last < 0 or len(data) < last + 14 or len(data) < head + 12:
        return None
    pre_skip: int = struct.unpack_from("<H", data, head + 10)[0]
    granule: int = struct.unpack_from("<q", data, last + 6)[0]
    return max(granule - pre_skip, 0) / _OPUS_RATE


def _error(status: int, message: str) -> JSONResponse:
    body = {"error": {"message": message, "type": "invalid_request_error", "code": None}}
    return JSONResponse(body, status_code=status)
