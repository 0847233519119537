"""Speech to text: the real openai SDK against a fake /v1/audio/transcriptions server."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from equipage.config import CompanyConfig
from equipage.errors import ConfigError, ModelError
from equipage.llm.options import ProviderOptions
from equipage.llm.speech import (
    SpeechToText,
    close_speech,
    load_speech,
    minute_price,
    speech_problem,
)
from equipage.testing.fake_speech import FakeSpeech, ogg_opus_seconds
from tests.voices import voice_note

SENTENCE = "Trouve les appels d'offres cloud de la semaine"


async def test_voice_note_is_sent_as_the_multipart_form_and_heard_with_its_language() -> None:
    note = voice_note(SENTENCE)
    async with FakeSpeech() as fake:
        fake.say(SENTENCE, language="french")
        speech = load_speech("openai:whisper-1", base_url=fake.url)
        try:
            heard = await speech.transcribe(note, filename="voice.ogg", mime="audio/ogg")
        finally:
            await close_speech(speech)
    assert isinstance(speech, SpeechToText)
    (sent,) = fake.requests
    assert (sent.model, sent.filename, sent.content_type) == ("whisper-1", "voice.ogg", "audio/ogg")
    assert sent.audio == note and sent.response_format == "verbose_json"
    assert sent.language is None  # no hint configured: the server detects it
    assert sent.authorization == "Bearer no-key"  # a server on this machine needs no key
    assert heard.text == SENTENCE and heard.language == "fr"
    assert heard.model == "openai:whisper-1"
    assert heard.seconds == pytest.approx(ogg_opus_seconds(note))
    assert 1.0 < heard.seconds < 10.0  # what espeak-ng took to say it


async def test_language_hint_is_sent_and_an_iso_code_answer_is_read_as_is() -> None:
    async with FakeSpeech() as fake:
        fake.say("Hello team", language="en")
        speech = load_speech("openai:Systran/faster-whisper-small", base_url=fake.url)
        try:
            note = voice_note("Hello team", voice="en")
            heard = await speech.transcribe(note, filename="a.ogg", mime="audio/ogg", language="en")
        finally:
            await close_speech(speech)
    assert fake.requests[0].language == "en"
    assert fake.requests[0].model == "Systran/faster-whisper-small"
    assert heard.language == "en"


async def test_server_error_is_a_model_error_naming_the_host_never_the_key() -> None:
    async with FakeSpeech() as fake:
        fake.fail_next(400)
        options = ProviderOptions(speech_api_key="sk-secret-never-shown", max_retries=0)
        speech = load_speech("openai:whisper-1", options, base_url=fake.url)
        try:
            with pytest.raises(ModelError) as raised:
                await speech.transcribe(b"OggS", filename="v.ogg", mime="audio/ogg")
        finally:
            await close_speech(speech)
    assert "127.0.0.1" in str(raised.value) and "400" in str(raised.value)
    assert "sk-secret" not in str(raised.value)
    assert fake.requests[0].authorization == "Bearer sk-secret-never-shown"


def test_endpoint_elsewhere_without_a_key_says_what_to_set() -> None:
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        load_speech("openai:whisper-1", ProviderOptions(), base_url="https://api.openai.com/v1")


def test_spec_is_checked_like_a_model_and_unknown_providers_are_listed() -> None:
    assert speech_problem("openai:whisper-1") is None
    assert "openai:<model>" in str(speech_problem("whisper"))
    with pytest.raises(ConfigError, match="unknown speech model"):
        load_speech("acme:ears")


def test_minute_price_comes_from_config_else_the_table_else_nothing() -> None:
    assert minute_price("openai:whisper-1") == 0.006
    assert minute_price("openai:gpt-4o-mini-transcribe-2025") == 0.003
    assert minute_price("openai:whisper-1", 0.01) == 0.01
    assert minute_price("openai:Systran/faster-whisper-small") == 0.0  # self-hosted


def test_company_yaml_speech_section_is_checked() -> None:
    base = {
        "company": {"id": "acme", "name": "Acme", "profile": {"sells": "hosting"}},
        "members": [{"id": "alice", "name": "Alice", "role": "owner"}],
        "roles": {"ceo": {"description": "runs the company"}},
    }
    assert CompanyConfig.model_validate(base).speech is None
    config = CompanyConfig.model_validate(
        {
            **base,
            "speech": {
                "model": "openai:whisper-1",
                "base_url": "http://localhost:8000/v1",
                "price_per_minute": 0.002,
                "language": "fr",
            },
        }
    )
    assert config.speech is not None and config.speech.price_per_minute == 0.002
    with pytest.raises(ValidationError, match="unknown speech model"):
        CompanyConfig.model_validate({**base, "speech": {"model": "whisper"}})


async def test_the_openai_key_never_goes_to_a_speech_server_company_yaml_names() -> None:
    """company.yaml's speech.base_url is a file's word, not the environment's: the key meant
    for OPENAI_BASE_URL (or OpenAI) is not sent there; EQUIPAGE_SPEECH_API_KEY is."""
    options = ProviderOptions(openai_api_key="sk-for-openai-only")
    async with FakeSpeech() as fake:
        for given, sent in (
            (options, "Bearer no-key"),
            (ProviderOptions(openai_api_key="sk-for-openai-only", speech_api_key="sk-stt"), None),
        ):
            fake.say("bonjour", language="french")
            speech = load_speech("openai:whisper-1", given, base_url=fake.url)
            try:
                await speech.transcribe(voice_note("bonjour"), filename="v.ogg", mime="audio/ogg")
            finally:
                await close_speech(speech)
            assert fake.requests[-1].authorization == (sent or "Bearer sk-stt")
    # The environment's own endpoint gets the environment's key, as chat models do.
    async with FakeSpeech() as fake:
        fake.say("hello")
        env = ProviderOptions(openai_api_key="sk-for-this-host", openai_base_url=fake.url)
        speech = load_speech("openai:whisper-1", env)
        try:
            await speech.transcribe(voice_note("hello"), filename="v.ogg", mime="audio/ogg")
        finally:
            await close_speech(speech)
        assert fake.requests[-1].authorization == "Bearer sk-for-this-host"


def test_the_speech_key_is_read_from_the_environment_and_never_printed() -> None:
    from equipage.config import Settings

    options = Settings.from_env({"EQUIPAGE_SPEECH_API_KEY": "sk-stt-secret"}).provider_options()
    assert options.speech_api_key == "sk-stt-secret"
    assert "sk-stt-secret" not in repr(options)
