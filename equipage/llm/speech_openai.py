"""The ``openai`` transcriber: any OpenAI-compatible ``/v1/audio/transcriptions`` endpoint.

OpenAI, Mistral (``https://api.mistral.ai/v1``, Voxtral), Scaleway
(``https://api.scaleway.ai/v1``), faster-whisper-server and whisper.cpp's server all take
the same multipart form: the file, the model, an optional language, and
``response_format=verbose_json`` for the detected language and the duration. The official
SDK sends it (``audio.transcriptions.create``); a server on this machine or its network
needs no key; any other takes ``EQUIPAGE_SPEECH_API_KEY``, or ``OPENAI_API_KEY`` when it is
the environment's own endpoint (``OPENAI_BASE_URL``, else OpenAI's).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from equipage.errors import ConfigError, MissingExtraError, ModelError
from equipage.llm.openai import DEFAULT_BASE_URL, _is_local
from equipage.llm.options import ProviderOptions
from equipage.llm.speech import Transcript

__all__ = ["OpenAISpeech"]

_NO_KEY = "no-key"  # self-hosted servers ignore the key, but the SDK insists on one
# Whisper's verbose_json names languages in English words ("french"), not ISO codes.
_NAMED = {"french": "fr", "english": "en", "german": "de", "spanish": "es", "italian": "it"}


class OpenAISpeech:
    """Transcription through an OpenAI-compatible endpoint, with the official SDK."""

    def __init__(self, model_id: str, options: ProviderOptions, base_url: str | None) -> None:
        try:
            import openai
        except ImportError as err:
            raise MissingExtraError("the openai speech provider", "openai") from err
        endpoint = options.openai_base_url or DEFAULT_BASE_URL
        # The environment pairs OPENAI_API_KEY with its endpoint; a server company.yaml
        # names (a file's word) gets EQUIPAGE_SPEECH_API_KEY, never that key.
        named = base_url is not None and base_url.rstrip("/") != endpoint.rstrip("/")
        base_url = base_url or endpoint
        self._host = urlsplit(base_url).hostname or base_url
        own = options.speech_api_key or (None if named else options.openai_api_key)
        key = own or (_NO_KEY if _is_local(self._host) else None)
        if key is None:
            variable = "EQUIPAGE_SPEECH_API_KEY" if named else "OPENAI_API_KEY"
            raise ConfigError(
                f"speech-to-text at {self._host} needs an API key: set {variable}, or "
                "point speech.base_url at a server of your own (faster-whisper-server, "
                "whisper.cpp), which needs none.",
                field=variable,
            )
        self.name = f"openai:{model_id}"
        self.model_id = model_id
        self._openai = openai
        # base_url is always given: the SDK would otherwise read OPENAI_BASE_URL itself.
        self._client = openai.AsyncOpenAI(
            api_key=key, base_url=base_url, timeout=options.timeout, max_retries=options.max_retries
        )

    def __repr__(self) -> str:
        return f"OpenAISpeech({self.model_id!r}, host={self._host!r})"

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._client.close()

    async def transcribe(
        self, audio: bytes, *, filename: str, mime: str, language: str | None = None
    ) -> Transcript:
        openai = self._openai
        try:
            answer: Any = await self._client.audio.transcriptions.create(
                file=(filename, audio, mime),
                model=self.model_id,
                language=language or openai.omit,
                response_format="verbose_json",
            )
        except openai.APIStatusError as err:
            raise ModelError(
                f"speech-to-text at {self._host} answered {err.status_code}: {_server_message(err)}"
            ) from err
        except (openai.APITimeoutError, TimeoutError) as err:
            raise ModelError(f"speech-to-text at {self._host} took too long to answer") from err
        except openai.APIConnectionError as err:
            raise ModelError(
                f"speech-to-text at {self._host} could not be reached; is the server up?"
            ) from err
        return Transcript(
            text=str(getattr(answer, "text", "") or "").strip(),
            language=_code(getattr(answer, "language", None)),
            seconds=float(getattr(answer, "duration", None) or 0.0),
            model=self.name,
        )


def _code(language: object) -> str | None:
    """``fr`` for "fr", "fr-FR" or Whisper's "french"; None when it says nothing usable."""
    if not isinstance(language, str) or not language.strip():
        return None
    word = language.strip().lower()
    code = _NAMED.get(word, word.replace("_", "-").partition("-")[0])
    return code if len(code) == 2 and code.isalpha() else None


def _server_message(err: Exception) -> str:
    body = getattr(err, "body", None)
    error = body.get("error", body) if isinstance(body, dict) else body
    message = error.get("message") if isinstance(error, dict) else error
    return str(message or err)[:300]
