"""Unit tests of the mini-corpus building blocks: lexicon, word times, PCM, plans, wdseg, effects."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pytest

from serkit.corpora.mini.effects import brighten, low_pass, saturate, telephone
from serkit.corpora.mini.layouts import LAYOUT_NAMES, get_layout
from serkit.corpora.mini.layouts.iemocap import dialog_pool, wdseg_text
from serkit.corpora.mini.lexicon import ENGLISH, GERMAN, compose, tokenize, vocabulary, word_spans
from serkit.corpora.mini.plan import derive_rng, quota, shard_assignment
from serkit.corpora.mini.profiles import EMOTIONS, PROFILES, SpeakerHabit, render_prosody, sample_effects
from serkit.corpora.mini.synth import EVENT_PHONEME, EVENT_WORD, Event
from serkit.corpora.mini.voices import sample_speaker, variant_text
from serkit.corpora.mini.wavfile import read_wav, to_pcm16, write_wav
from serkit.corpora.mini.word_times import WordTime, align_words
from serkit.corpora.mini.wordlists import glove_words, pronunciation_counts


def test_english_vocabulary_is_in_cmudict_and_glove():
    words = vocabulary(ENGLISH)
    assert len(words) > 80
    counts = pronunciation_counts(words)
    assert sorted(w for w, n in counts.items() if n == 0) == []
    glove = glove_words()
    assert len(glove) == 400_000
    assert sorted(w for w in words if w not in glove) == []


def test_vocabulary_check_catches_a_missing_word():
    assert pronunciation_counts(["happy", "qwxzvbnm"]) == {"happy": 1, "qwxzvbnm": 0}
    assert "qwxzvbnm" not in glove_words()


def test_german_lexicon_has_umlauts_and_semicolon_frames():
    words = vocabulary(GERMAN)
    assert any(ch in w for w in words for ch in "äöüß")
    assert any(";" in frame for frame in GERMAN.emotional_frames + GERMAN.neutral_frames)


def test_lexical_modes_follow_the_acted_emotion():
    rng = np.random.default_rng(3)
    neutral_slots = [*ENGLISH.topics, *ENGLISH.predicates, *ENGLISH.shared_tags, *ENGLISH.neutral_frames]
    neutral_words = {w for piece in neutral_slots for w in tokenize(piece)}
    own_words = {
        e: {w for p in ENGLISH.phrases[e] for w in tokenize(p)} - neutral_words for e in ENGLISH.phrases
    }
    modes = Counter()
    for emotion in EMOTIONS:
        for _ in range(400):
            sentence = compose(ENGLISH, emotion, rng)
            modes[(emotion, sentence.lex_mode)] += 1
            if sentence.lex_mode == "congruent":
                assert sentence.lex_emo == emotion and own_words[emotion] & set(sentence.words)
            elif sentence.lex_mode == "incongruent":
                assert sentence.lex_emo not in (None, emotion)
                assert own_words[sentence.lex_emo] & set(sentence.words)
            else:
                assert sentence.lex_emo is None
                assert not any(own_words[e] & set(sentence.words) for e in own_words)
    assert modes[("neu", "congruent")] == 0
    for emotion in ("hap", "ang", "sad"):
        assert 0.5 < modes[(emotion, "congruent")] / 400 < 0.7
        assert 0.05 < modes[(emotion, "incongruent")] / 400 < 0.2


def test_sentences_are_capitalised_and_tokens_match_spans():
    rng = np.random.default_rng(0)
    for lexicon in (ENGLISH, GERMAN):
        for _ in range(50):
            sentence = compose(lexicon, "hap", rng)
            assert sentence.text[0].isupper() and sentence.text.endswith(".")
            spans = word_spans(sentence.text)
            assert tuple(sentence.text[a:b].lower() for a, b in spans) == sentence.words
    assert re.search(
        r"\bI\b", compose(ENGLISH, "sad", np.random.default_rng(1), frame=3, mode="congruent").text
    )


def _event(kind, position, sample, phoneme=""):
    return Event(kind, position, 0, sample, phoneme)


def test_fused_word_events_are_split_by_phoneme_counts():
    # espeak's events for "I am so happy." as measured: one WORD event covers "I am".
    text = "I am so happy."
    events = [
        _event(EVENT_WORD, 0, 100),
        _event(EVENT_PHONEME, 0, 100, "aI"),
        _event(EVENT_PHONEME, 0, 1700, "a#"),
        _event(EVENT_PHONEME, 0, 3000, "m"),
        _event(EVENT_WORD, 5, 4600),
        _event(EVENT_PHONEME, 5, 4800, "s"),
        _event(EVENT_PHONEME, 5, 6400, ",oU"),
        _event(EVENT_WORD, 8, 8900),
        _event(EVENT_PHONEME, 8, 9100, "h"),
        _event(EVENT_PHONEME, 8, 10500, "'a"),
        _event(EVENT_PHONEME, 8, 13800, "p"),
        _event(EVENT_PHONEME, 8, 14600, "i"),
        _event(EVENT_PHONEME, 14, 16000, "_:"),
    ]
    counts = {"i": 1, "am": 2, "so": 2, "happy": 4}
    words = align_words(tokenize(text), word_spans(text), events, 20000, 1000, counts.__getitem__)
    assert [w.word for w in words] == ["i", "am", "so", "happy"]
    assert [w.merged for w in words] == [True, True, False, False]
    assert [(w.start, w.end) for w in words] == [(0.1, 1.7), (1.7, 4.6), (4.6, 8.9), (8.9, 16.0)]


def test_word_end_stops_at_a_pause_before_the_next_word():
    text = "well, fine"
    events = [
        _event(EVENT_WORD, 0, 0),
        _event(EVENT_PHONEME, 0, 0, "w"),
        _event(EVENT_PHONEME, 0, 300, "_:"),
        _event(EVENT_WORD, 6, 900),
        _event(EVENT_PHONEME, 6, 900, "f"),
    ]
    words = align_words(tokenize(text), word_spans(text), events, 1500, 1000, lambda w: 3)
    assert words == [WordTime("well", 0.0, 0.3), WordTime("fine", 0.9, 1.5)]


def test_pcm16_has_no_digital_zeros_and_wav_roundtrips(tmp_path):
    rng = np.random.default_rng(0)
    pcm = to_pcm16(np.concatenate([np.zeros(1000), np.linspace(-1.5, 1.5, 1000)]), rng)
    assert pcm.dtype == np.int16 and np.all(pcm != 0)
    assert pcm.max() == 32767 and pcm.min() == -32767
    write_wav(tmp_path / "a.wav", pcm, 16000)
    assert (tmp_path / "a.wav").stat().st_size == 44 + 2 * pcm.size
    back, rate = read_wav(tmp_path / "a.wav")
    assert rate == 16000 and np.array_equal(back, pcm)


def test_effects_shape_the_spectrum():
    rate = 22050  # one second: FFT bin k is k Hz
    t = np.arange(rate) / rate
    tone = sum(np.sin(2 * np.pi * f * t) for f in (100, 1000, 7000))
    before = np.abs(np.fft.rfft(tone))
    muffled = np.abs(np.fft.rfft(low_pass(tone, 3000.0, rate))) / before
    assert muffled[1000] > 0.99 and muffled[7000] < 0.05
    band = np.abs(np.fft.rfft(telephone(tone, rate))) / before
    assert band[1000] > 0.95 and band[100] < 0.02 and band[7000] < 0.08
    sine = 0.5 * np.sin(2 * np.pi * 100 * t)
    squashed = saturate(sine, 3.0)
    assert np.isclose(np.abs(squashed).max(), 0.5) and np.mean(np.abs(squashed)) > 1.2 * np.mean(np.abs(sine))
    bright = np.abs(np.fft.rfft(brighten(tone, 8.0, rate))) / before
    assert abs(bright[100] - 1) < 0.01 and abs(20 * np.log10(bright[7000]) - 8.0) < 0.1


def test_each_emotional_class_has_its_own_voice_quality_effect():
    rng = np.random.default_rng(0)
    drawn = {e: [sample_effects(e, 1.0, rng) for _ in range(200)] for e in EMOTIONS}
    share = {
        e: {
            k: np.mean([getattr(x, k) is not None for x in drawn[e]])
            for k in ("lowpass_hz", "saturation", "brightness_db")
        }
        for e in EMOTIONS
    }
    assert (
        share["sad"]["lowpass_hz"] > 0.7
        and share["ang"]["saturation"] > 0.7
        and share["hap"]["brightness_db"] > 0.7
    )
    assert all(v == 0 for v in share["neu"].values())
    assert share["sad"]["saturation"] == share["ang"]["brightness_db"] == share["hap"]["lowpass_hz"] == 0


def test_profiles_order_the_prosody():
    rng = np.random.default_rng(0)
    rendered = {e: render_prosody(e, 1.0, SpeakerHabit(), rng) for e in EMOTIONS}
    assert rendered["sad"].rate < rendered["neu"].rate < rendered["hap"].rate
    assert rendered["sad"].volume < rendered["neu"].volume < rendered["ang"].volume
    assert rendered["sad"].range < rendered["neu"].range < rendered["hap"].range
    assert render_prosody("hap", 0.0, SpeakerHabit(), np.random.default_rng(1)).rate < PROFILES["hap"].rate


def test_speaker_variants_disable_flutter():
    speaker = sample_speaker("s", "F", "en", "srk00", np.random.default_rng(0))
    text = variant_text(speaker)
    assert "flutter 0" in text.splitlines() and text.count("formant ") == 9
    assert speaker.voice_name == "en-us+srk00" and 135 <= speaker.pitch_base <= 175


def test_derived_generators_are_independent_and_stable():
    a = derive_rng(7, "iemocap", "x").integers(1 << 30, size=4)
    assert np.array_equal(a, derive_rng(7, "iemocap", "x").integers(1 << 30, size=4))
    assert not np.array_equal(a, derive_rng(8, "iemocap", "x").integers(1 << 30, size=4))
    assert not np.array_equal(a, derive_rng(7, "iemocap", "y").integers(1 << 30, size=4))


def test_quota_and_shards():
    labels = quota({"a": 0.5, "b": 0.3, "c": 0.2}, 7)
    assert len(labels) == 7 and Counter(labels) == {"a": 4, "b": 2, "c": 1}
    plan = get_layout("iemocap").plan(0, "tiny")
    shards = shard_assignment(plan.recordings, plan.n_shards)
    assert sorted(i for s in shards for i in s) == list(range(len(plan.recordings)))
    assert len(shards) == plan.n_shards


@pytest.mark.parametrize("layout", LAYOUT_NAMES)
def test_plans_depend_only_on_seed_and_size(layout):
    first = get_layout(layout).plan(5, "tiny")
    again = get_layout(layout).plan(5, "tiny")
    other = get_layout(layout).plan(6, "tiny")
    assert first == again
    assert [t.sentence for r in first.recordings for t in r.turns] != [
        t.sentence for r in other.recordings for t in r.turns
    ]


def test_iemocap_dialog_pool_has_the_odd_names():
    assert dialog_pool(3)[0] == "Ses03M_impro05a" and "Ses03M_impro05" not in dialog_pool(3)
    assert dialog_pool(5)[0] == "Ses05M_script01_1b"
    assert len(dialog_pool(1)) == 28 and len(dialog_pool(3)) == 32 and len(dialog_pool(5)) == 31


def test_wdseg_text_follows_sphinx3():
    words = (WordTime("i", 0.2, 0.31), WordTime("am", 0.31, 0.5, True), WordTime("glad", 0.8, 1.1))
    text = wdseg_text(words, ["I", "AM(2)", "GLAD"], 1.3, np.random.default_rng(0))
    lines = text.splitlines()
    assert lines[0] == "\t SFrm  EFrm    SegAScr Word"
    rows = [line.split() for line in lines[1:-1]]
    assert [r[3] for r in rows] == ["<s>", "I", "AM(2)", "<sil>", "GLAD", "</s>"]
    assert [(int(r[0]), int(r[1])) for r in rows] == [
        (0, 19),
        (20, 30),
        (31, 49),
        (50, 79),
        (80, 109),
        (110, 129),
    ]
    assert lines[-1].startswith(" Total score: ") and int(lines[-1].split()[-1]) == sum(
        int(r[2]) for r in rows
    )
