"""One planned turn -> 16-bit audio at the corpus rate, with word times relative to that audio.

Pipeline: espeak synthesis -> word times from events -> profile volume -> effects -> resampling ->
leading/trailing silence -> noise floor -> PCM16 without digital zeros.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import soxr

from serkit.corpora.mini.effects import add_noise, brighten, low_pass, saturate, telephone, volume_gain
from serkit.corpora.mini.lexicon import word_spans
from serkit.corpora.mini.plan import TurnPlan, derive_rng
from serkit.corpora.mini.synth import Espeak
from serkit.corpora.mini.voices import Speaker
from serkit.corpora.mini.wavfile import FULL_SCALE, to_pcm16
from serkit.corpora.mini.word_times import WordTime, align_words


@dataclass(frozen=True)
class RenderedTurn:
    """A turn's PCM16 at ``sample_rate`` and its word times (seconds from the start of ``pcm``)."""

    turn: TurnPlan
    pcm: np.ndarray
    sample_rate: int
    words: tuple[WordTime, ...]
    voice: str

    @property
    def n_samples(self) -> int:
        return int(self.pcm.shape[0])

    @property
    def duration(self) -> float:
        return self.n_samples / self.sample_rate


def render_turn(engine: Espeak, turn: TurnPlan, speaker: Speaker, sample_rate: int) -> RenderedTurn:
    """Synthesise and post-process ``turn`` as ``speaker`` into mono PCM16 at ``sample_rate``."""
    synthesis = engine.synthesize(turn.sentence.text, speaker.voice_name, turn.prosody, turn.seed)
    words = align_words(
        turn.sentence.words,
        word_spans(turn.sentence.text),
        synthesis.events,
        len(synthesis.pcm),
        synthesis.sample_rate,
        lambda word: engine.phoneme_count(word, speaker.voice_name),
    )
    signal = synthesis.pcm.astype(np.float64) / FULL_SCALE * volume_gain(turn.prosody.volume)
    if turn.effects.lowpass_hz is not None:
        signal = low_pass(signal, turn.effects.lowpass_hz, synthesis.sample_rate)
    if turn.effects.brightness_db is not None:
        signal = brighten(signal, turn.effects.brightness_db, synthesis.sample_rate)
    if turn.effects.saturation is not None:
        signal = saturate(signal, turn.effects.saturation)
    if turn.telephone:
        signal = telephone(signal, synthesis.sample_rate)
    if sample_rate != synthesis.sample_rate:
        signal = soxr.resample(signal, synthesis.sample_rate, sample_rate)
    lead, trail = round(turn.lead * sample_rate), round(turn.trail * sample_rate)
    signal = np.concatenate([np.zeros(lead), signal, np.zeros(trail)])
    rng = derive_rng(turn.seed, "noise")
    pcm = to_pcm16(add_noise(signal, turn.noise_dbfs, rng), rng)
    shift = lead / sample_rate
    limit = len(pcm) / sample_rate
    times = tuple(
        WordTime(w.word, min(w.start + shift, limit), min(w.end + shift, limit), w.merged) for w in words
    )
    return RenderedTurn(turn=turn, pcm=pcm, sample_rate=sample_rate, words=times, voice=speaker.voice_name)
