"""The coaching workflow on real transcripts: parsers, measures, chart, feedback, end to end."""

from __future__ import annotations

import io
import json
import re
import sys
import tracemalloc
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from langgraph.checkpoint.memory import InMemorySaver
from PIL import Image
from pydantic import ValidationError

from equipage.errors import InputRejected
from equipage.keys import Keys
from equipage.llm.base import ChatModel
from equipage.llm.messages import Completion
from equipage.llm.offline import OfflineModel
from equipage.testing import ScriptedModel
from equipage.workflow import WorkflowContext
from workflows.coaching import WORKFLOW, CoachingInput, CoachingOutput
from workflows.coaching.chart import draw_pace_chart
from workflows.coaching.measures import Measures, measure
from workflows.coaching.transcript import Transcript, load_text, read_transcript, sniff_format

FIXTURES = Path(__file__).parent / "fixtures" / "transcripts"
UMD = FIXTURES / "umd-mith_webvtt-player_unlocking-the-airwaves_en.vtt"
TEAMS = FIXTURES / "webvtt-py_teams_timeframe.vtt"
DIARIZED = FIXTURES / "whisper-ctranslate2_dosparlants_diarization_ca.srt"
DEEPGRAM = FIXTURES / "deepgram-python-sdk_preamble_nova-3.json"
WHISPER = FIXTURES / "whisper-ctranslate2_gossos_word-stamps_ca.json"

_VTT_TIME = re.compile(r"(\d+):(\d{2}):(\d{2})\.(\d{3})")


def read(path: Path, **options: str) -> Transcript:
    return read_transcript(load_text(path), hint=path.name, **options)  # type: ignore[arg-type]


def cue_lines(path: Path) -> list[str]:
    """The text lines of a subtitle file: not the header, not a timing line, not an index."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [
        line
        for line in lines
        if line.strip() and "-->" not in line and not line.startswith("WEBVTT")
        and not line.strip().isdigit()
    ]  # fmt: skip


def seconds(stamp: str) -> float:
    h, m, s, ms = (int(x) for x in _VTT_TIME.fullmatch(stamp).groups())  # type: ignore[union-attr]
    return h * 3600 + m * 60 + s + ms / 1000


async def run(ctx: WorkflowContext, **fields: object) -> CoachingOutput:
    graph = WORKFLOW.build(ctx).compile(checkpointer=InMemorySaver())
    params = CoachingInput.model_validate(fields)
    state = await graph.ainvoke({"input": params}, {"configurable": {"thread_id": "t1"}})
    output: CoachingOutput = state["output"]
    return output


def file_bytes(path: str | Path) -> bytes:
    return Path(path).read_bytes()


def pngs_under(folder: Path) -> list[Path]:
    return list(folder.rglob("*.png"))


def context(redis: aioredis.Redis, keys: Keys, files: Path, model: ChatModel) -> WorkflowContext:
    return WorkflowContext(
        company="acme", redis=redis, keys=keys, model=model, files=files, name="coaching"
    )


# -- parsers -----------------------------------------------------------------------------


def test_srt_with_bom_crlf_multiline_cues_and_no_last_blank_line_is_read() -> None:
    content = (
        "\ufeff1\r\n00:00:01,000 --> 00:00:03,500\r\nFirst line\r\nsecond line\r\n\r\n"
        "2\r\n00:00:04,000 --> 00:00:06,000\r\n<i>Last</i> cue &amp; done"
    )
    transcript = read_transcript(content)
    assert transcript.format == "srt"
    first, last = transcript.segments
    assert (first.start, first.end, first.text) == (1.0, 3.5, "First line second line")
    assert (last.start, last.end, last.text) == (4.0, 6.0, "Last cue & done")


def test_webvtt_header_notes_ids_settings_voices_and_entities_are_handled() -> None:
    content = (
        "WEBVTT - a talk\nKind: captions\n\nNOTE this is a comment\nspanning two lines\n\n"
        "intro\n00:01.000 --> 00:04.000 align:start position:10%\n"
        "<v Alice>It&#39;s <b>great</b></v>\n\n"
        "00:00:05.000 --> 00:00:07.250\n<v.loud Bob Smith>Thanks, Alice\n"
    )
    transcript = read_transcript(content, hint="talk.srt")
    assert transcript.format == "vtt"  # the content wins over the extension
    assert [(s.speaker, s.text, s.start, s.end) for s in transcript.segments] == [
        ("Alice", "It's great", 1.0, 4.0),
        ("Bob Smith", "Thanks, Alice", 5.0, 7.25),
    ]


def test_format_is_sniffed_from_content_not_extension() -> None:
    srt = "1\n00:00:01,000 --> 00:00:02,000\nHello\n"
    assert sniff_format(srt, "notes.txt") == "srt"
    assert sniff_format('{"segments": []}', "talk.srt") == "json"
    assert sniff_format("Alice: hello there", "talk.vtt") == "text"


def test_real_webvtt_decodes_html_entities_and_keeps_every_cue() -> None:
    transcript = read(UMD)
    raw = UMD.read_text(encoding="utf-8")
    assert len(transcript.segments) == raw.count("-->")
    assert transcript.language == "en"
    assert not any("&#39;" in s.text for s in transcript.segments)
    assert "nature's plug into prosperity" in transcript.text
    assert "&#39;" in raw  # the file really carries the entity the parser decodes


def test_teams_webvtt_short_timestamps_and_voice_tags_give_speakers() -> None:
    transcript = read(TEAMS)
    assert transcript.speakers == ["Yuri Bakulin", "Adrian Petrescu"]
    assert [(s.start, s.end) for s in transcript.segments] == [(0.0, 0.57), (0.21, 1.13)]
    shares = {s.speaker: s.words for s in measure(transcript).speakers}
    assert shares == {"Yuri Bakulin": 3, "Adrian Petrescu": 4}


def test_diarized_srt_prefixes_become_speakers_and_unlabelled_cues_stay_unmarked() -> None:
    transcript = read(DIARIZED)
    assert transcript.speakers == ["SPEAKER_01", "SPEAKER_00"]
    raw = cue_lines(DIARIZED)
    expected: dict[str, int] = {}
    for line in raw:
        found = re.match(r"\[(SPEAKER_\d+)\]: (.*)", line)
        who, text = (found[1], found[2]) if found else ("(unmarked)", line)
        expected[who] = expected.get(who, 0) + len(text.split())
    measures = measure(transcript)
    assert {s.speaker: s.words for s in measures.speakers} == expected
    assert sum(s.turns for s in measures.speakers) >= 3
    assert not any(s.text.startswith("[SPEAKER") for s in transcript.segments)


def test_whisper_word_json_joins_subword_pieces_into_words() -> None:
    data = json.loads(WHISPER.read_text(encoding="utf-8"))
    transcript = read(WHISPER, language="fr")
    assert transcript.word_timed
    words = [w.text for s in transcript.segments for w in s.words]
    assert words == data["text"].split()  # " L" + "'esquelet" is one word, as written
    measures = measure(transcript)
    first = data["segments"][0]["words"][0]["start"]
    last = data["segments"][-1]["words"][-1]["end"]
    assert measures.wpm == pytest.approx(len(data["text"].split()) * 60 / (last - first))


def test_flat_word_list_json_finds_pauses_between_words() -> None:
    words = [
        {"word": "so", "start": 0.0, "end": 0.3},
        {"word": "today", "start": 0.3, "end": 0.8},
        {"word": "we", "start": 3.0, "end": 3.2},  # 2.2 s of silence before
        {"word": "start.", "start": 3.2, "end": 3.6},
    ]
    transcript = read_transcript(json.dumps(words))
    measures = measure(transcript)
    assert measures.pauses_between == "words"
    [pause] = measures.pauses
    assert pause.start == 0.8
    assert pause.seconds == pytest.approx(2.2)
    assert pause.before == "so today"


def test_bad_input_is_refused_naming_the_formats_read() -> None:
    for content in ('{"foo": 1}', "1\n00:00:01,000 --> bogus\nHello\n", " \n "):
        with pytest.raises(InputRejected, match=r"SubRip \(\.srt\), WebVTT"):
            read_transcript(content)


def test_binary_file_is_refused(tmp_path: Path) -> None:
    audio = tmp_path / "talk.mp3"
    audio.write_bytes(b"ID3\x04\x00\x00\x00\x00\x00" * 10)
    with pytest.raises(InputRejected, match="binary file"):
        load_text(audio)


# -- measures ----------------------------------------------------------------------------


def test_words_per_minute_of_a_real_webvtt_matches_its_first_and_last_cue_times() -> None:
    raw = UMD.read_text(encoding="utf-8")
    stamps = re.findall(r"(\d+:\d{2}:\d{2}\.\d{3}) --> (\d+:\d{2}:\d{2}\.\d{3})", raw)
    start, end = seconds(stamps[0][0]), max(seconds(e) for _, e in stamps)
    words = [
        w
        for line in cue_lines(UMD)
        for w in line.replace("&#39;", "'").split()
        if any(c.isalnum() for c in w)
    ]
    measures = measure(read(UMD), window_seconds=60)
    assert measures.words == len(words)
    assert measures.wpm == pytest.approx(len(words) * 60 / (end - start))
    assert sum(w.words for w in measures.windows) == len(words)
    assert measures.pauses_between == "cues"


def test_word_timestamp_pace_of_a_real_deepgram_response() -> None:
    data = json.loads(DEEPGRAM.read_text(encoding="utf-8"))
    words = data["results"]["channels"][0]["alternatives"][0]["words"]
    measures = measure(read(DEEPGRAM))
    assert measures.word_timed
    assert measures.words == len(words)
    expected = len(words) * 60 / (words[-1]["end"] - words[0]["start"])
    assert measures.wpm == pytest.approx(expected)
    assert measures.wpm is not None
    assert measures.wpm > measures.comfortable_wpm[1]  # the preamble is read briskly
    assert measures.sentences == 1 and measures.sentence_max == len(words)


def test_you_know_on_a_real_transcript_counts_the_filler_and_not_the_question() -> None:
    text = " ".join(line.replace("&#39;", "'") for line in cue_lines(UMD))
    # "interested in petroleum you know the petroleum industry" is a filler; "You know
    # something." asks the listener something: the grep finds both, the rule one.
    assert len(re.findall(r"\byou know\b", text, re.IGNORECASE)) == 2
    assert "petroleum you know the petroleum" in text and "You know something." in text
    fillers = {f.filler: f for f in measure(read(UMD)).fillers}
    assert fillers["you know"].count == 1
    assert fillers["you know"].loose


def test_repeated_phrase_of_a_real_transcript_is_counted() -> None:
    expected = sum(line.strip() == "D'acord, moltes gràcies." for line in cue_lines(DIARIZED))
    expected += sum(line.endswith("]: D'acord, moltes gràcies.") for line in cue_lines(DIARIZED))
    phrases = measure(read(DIARIZED, language="fr")).repeated_phrases
    assert phrases[0].text == "d acord moltes gracies"
    assert phrases[0].count == expected == 13
    assert len(phrases) == 1  # its rotations and sub-phrases are not listed again


def test_french_fillers_are_found_across_case_accents_and_multiword_forms() -> None:
    text = (
        "Alice: Euh, DU COUP on a fini. En fait c'est prêt, voilà.\n"
        "Alice: Voilà le plan. Ce genre de chose, c'est genre trop bien quoi.\n"
        "Alice: Du coup on y va ? Tu viens ou quoi ?"
    )
    measures = measure(read_transcript(text))
    assert measures.language == "fr"
    counts = {f.filler: f.count for f in measures.fillers}
    assert counts == {"du coup": 2, "euh": 1, "en fait": 1, "voila": 1, "genre": 1, "quoi": 1}


def test_english_like_and_so_count_only_where_they_are_fillers() -> None:
    text = "I like this plan. It was like, huge. So, we went there. It is so much better."
    counts = {f.filler: f.count for f in measure(read_transcript(text)).fillers}
    assert counts == {"like": 1, "so": 1}


def test_immediate_repetitions_are_found_but_grammar_doubles_are_not() -> None:
    text = "I I think that the the plan works. Vous vous souvenez du du projet."
    repeats = {r.text: r.count for r in measure(read_transcript(text)).repeated_words}
    assert repeats == {"i i": 1, "the the": 1, "du du": 1}


def test_unpunctuated_asr_text_does_not_get_a_sentence_length() -> None:
    words = " ".join(["and then we went to the market"] * 30)
    measures = measure(read_transcript(f"00:00:01.000 --> 00:01:30.000\n{words}\n"))
    assert not measures.punctuated
    assert measures.sentence_mean is None


def test_focus_on_one_speaker_measures_only_that_speaker() -> None:
    measures = measure(read(DIARIZED), speaker="speaker_00")
    raw = [line for line in cue_lines(DIARIZED) if line.startswith("[SPEAKER_00]: ")]
    assert measures.focus == "SPEAKER_00"
    assert measures.words == sum(len(line.split()) - 1 for line in raw)
    with pytest.raises(InputRejected, match="speakers: SPEAKER_01, SPEAKER_00"):
        measure(read(DIARIZED), speaker="Carme")


# -- chart -------------------------------------------------------------------------------


def test_pace_chart_is_a_valid_deterministic_png(tmp_path: Path) -> None:
    measures = measure(read(UMD), window_seconds=60)
    first = draw_pace_chart(measures, tmp_path / "a.png").read_bytes()
    second = draw_pace_chart(measures, tmp_path / "b.png").read_bytes()
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(first) > 10_000
    assert first == second
    with Image.open(io.BytesIO(first)) as image:
        assert image.format == "PNG"
        assert image.size == (1000, 450)


# -- the workflow ------------------------------------------------------------------------


async def test_offline_run_writes_report_and_chart_with_rules_feedback(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    output = await run(context(redis, keys, tmp_path, OfflineModel()), path=str(UMD))
    assert output.refused is None and output.feedback is not None
    assert output.feedback.by == "template"
    assert output.chart is not None and file_bytes(output.chart)[:4] == b"\x89PNG"
    assert output.report is not None
    report = Path(output.report)
    assert report.name == "report.md" and report.parent.parent == tmp_path
    summary = output.summary()
    assert file_bytes(report).decode("utf-8") == summary
    assert "**Strengths**" in summary and "**Things to work on**" in summary
    assert "**Exercise**" in summary and "offline model" in summary
    assert f"{output.measures.wpm:.0f} words per minute" in summary  # type: ignore[union-attr]
    assert "counted only where a simple rule says they are fillers" in summary


async def test_french_transcript_gets_french_feedback(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    # Hand-written: no real French timed transcript under an allowed licence was found.
    srt = (
        "1\n00:00:00,000 --> 00:00:06,000\nBonjour à tous, euh, aujourd'hui je vais vous "
        "parler du projet.\n\n2\n00:00:08,500 --> 00:00:15,000\nDu coup, en fait, on a "
        "trois idées pour la suite et on va les voir ensemble.\n\n3\n00:00:15,500 --> "
        "00:00:40,000\nLa première idée est simple : on garde le client au centre de "
        "tout ce que l'on fait, voilà.\n"
    )
    output = await run(context(redis, keys, tmp_path, OfflineModel()), text=srt)
    summary = output.summary()
    assert output.measures is not None and output.measures.language == "fr"
    assert "# Rapport de coaching" in summary
    assert "**Points forts**" in summary and "**Axes de progrès**" in summary
    assert "**Exercice**" in summary and "modèle hors ligne" in summary
    assert "mots par minute" in summary


async def test_plain_text_transcript_reports_pace_as_not_available(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    text = "Alice: Hello everyone, um, thanks for coming.\nBob: Thanks Alice.\nAlice: So, the plan."
    output = await run(context(redis, keys, tmp_path, OfflineModel()), text=text)
    assert output.measures is not None and output.measures.wpm is None
    assert output.chart is None
    assert [s.speaker for s in output.measures.speakers] == ["Alice", "Bob"]
    summary = output.summary()
    assert "Pace: not available — this transcript has no timings" in summary
    assert "Pace chart: not drawn" in summary


async def test_missing_matplotlib_gives_the_report_without_chart_and_says_why(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    output = await run(context(redis, keys, tmp_path, OfflineModel()), path=str(DEEPGRAM))
    assert output.chart is None
    assert output.chart_note is not None
    assert "pip install 'equipage[coaching]'" in output.chart_note
    assert "pip install 'equipage[coaching]'" in output.summary()
    assert not pngs_under(tmp_path)


async def test_model_writes_the_feedback_from_the_figures(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    prose = "**Strengths**\n\n- Brisk and clear.\n\n**Things to work on**\n\n- Breathe."
    model = ScriptedModel([Completion(content=prose, model="claude-test")])
    output = await run(context(redis, keys, tmp_path, model), path=str(DEEPGRAM))
    assert output.feedback is not None
    assert (output.feedback.text, output.feedback.by) == (prose, "claude-test")
    [messages] = model.calls
    material = messages[-1].content
    assert "words per minute" in material and "We, the people" in material
    assert "_Written by claude-test._" in output.summary()


async def test_unreadable_input_comes_back_as_a_refusal(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    output = await run(context(redis, keys, tmp_path, OfflineModel()), text='{"foo": 1}')
    assert output.refused is not None and output.measures is None
    assert "I read SubRip (.srt)" in output.summary()
    missing = await run(context(redis, keys, tmp_path, OfflineModel()), path="/nope/talk.srt")
    assert "cannot read the transcript" in (missing.refused or "")


async def test_a_15_mb_transcript_is_refused_before_it_is_read_with_the_limit_and_the_fix(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    huge = tmp_path / "all-day.srt"
    with huge.open("w", encoding="utf-8") as out:  # written a cue at a time: 15 MB
        cue = 0
        while out.tell() < 15 * 1024 * 1024:
            cue += 1
            out.write(f"{cue}\n00:00:01,000 --> 00:00:02,000\nSo, um, the plan is simple.\n\n")
    tracemalloc.start()
    try:
        output = await run(context(redis, keys, tmp_path, OfflineModel()), path=str(huge))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert output.measures is None and output.refused is not None
    assert output.refused.startswith("the transcript all-day.srt is 15 MB, over the 4 MB limit")
    assert "workflows.coaching.max_bytes: <bytes> in company.yaml" in output.refused
    assert "--set max_bytes=<bytes>" in output.refused
    assert peak < 2 * 1024 * 1024  # the file was not read, let alone parsed


async def test_a_transcript_within_its_limit_runs_and_one_byte_over_is_refused(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    ctx = context(redis, keys, tmp_path, OfflineModel())
    size = UMD.stat().st_size
    fits = await run(ctx, path=str(UMD), max_bytes=size)
    assert fits.refused is None and fits.measures is not None
    over = await run(ctx, path=str(UMD), max_bytes=size - 1)
    assert over.refused is not None and "so it was not read" in over.refused
    pasted = await run(ctx, text="Hello there, everyone.", max_bytes=10)
    assert (pasted.refused or "").startswith("the transcript is 22 bytes, over the 10 bytes limit")


def test_only_the_owner_may_raise_the_transcript_limit() -> None:
    from equipage.inputs import check_settings, crew_refusal

    check_settings("coaching", CoachingInput, {"max_bytes": 30_000_000})  # company.yaml
    refusal = crew_refusal("coaching", CoachingInput, {"max_bytes": 30_000_000})
    assert refusal is not None and "workflows.coaching.max_bytes" in refusal


def test_input_takes_a_path_or_a_text_not_both() -> None:
    with pytest.raises(ValidationError, match="not both"):
        CoachingInput(path="a.srt", text="hello")
    assert CoachingInput(text="hi").window_seconds == 30
    assert CoachingInput().path is None  # the file sent with the request is read


async def test_a_transcript_sent_with_a_chat_request_is_the_one_measured(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    from equipage.envelope import Attachment, Envelope, Kind, WorkflowCall

    vtt = FIXTURES / "webvtt-py_teams_timeframe.vtt"
    sent = Attachment(name="equipe.vtt", mime="text/vtt", ref="F1", text=vtt.read_text())
    request = Envelope(
        kind=Kind.WORKFLOW,
        company="acme",
        to="workflow.coaching",
        sender="ceo",
        thread="t",
        workflow=WorkflowCall(name="coaching"),
        attachments=(sent,),
    )
    graph = WORKFLOW.build(context(redis, keys, tmp_path, OfflineModel())).compile(
        checkpointer=InMemorySaver()
    )
    state = await graph.ainvoke(
        {"input": CoachingInput(), "request": request}, {"configurable": {"thread_id": "t2"}}
    )
    output: CoachingOutput = state["output"]
    assert output.refused is None and output.source == "equipe.vtt"
    assert output.measures is not None and len(output.measures.speakers) == 2
    nothing = await run(context(redis, keys, tmp_path, OfflineModel()))
    assert "no transcript was given: send the file" in (nothing.refused or "")


def test_workflow_is_declared_read_only_with_untrusted_output() -> None:
    assert WORKFLOW.name == "coaching"
    assert WORKFLOW.read_only and WORKFLOW.untrusted_output
    assert {"coaching", "prise de parole", "débit de parole", "my pitch"} <= set(WORKFLOW.handles)
    assert isinstance(Measures.model_json_schema(), dict)


async def test_offline_ceo_coaches_a_transcript_the_founder_sends_in_chat(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from equipage.envelope import Attachment, Kind
    from tests.test_crew import crew_running
    from tests.test_workflows import with_workflows

    monkeypatch.chdir(tmp_path)
    talk = FIXTURES / "umd-mith_webvtt-player_unlocking-the-airwaves_en.vtt"
    sent = Attachment(name=talk.name, mime="text/vtt", ref="F1", text=talk.read_text())
    async with crew_running(redis, keys, with_workflows("coaching")) as crew:
        await crew.tell("Coach me on this talk transcript, please", files=(sent,))
        _ack, report = await crew.outbox(2)
    assert report.kind is Kind.REPLY
    assert talk.name in report.text
    assert "words per minute" in report.text
    assert list((tmp_path / ".equipage").rglob("pace.png"))
