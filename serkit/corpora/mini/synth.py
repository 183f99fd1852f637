"""espeak-ng through ctypes (the ``espeakng-loader`` wheel): PCM plus WORD / PHONEME events.

libespeak-ng keeps global synthesis state (AGC, glottal cycle counter, echo buffer) between calls, so the
bytes it returns depend on what the process synthesised before. Callers get reproducible output only by
synthesising a fixed sequence of utterances in a fresh process; see :mod:`serkit.corpora.mini.shard`.
Parameters persist across voice changes, so :meth:`Espeak.synthesize` sets every one of them each time.
"""

from __future__ import annotations

import ctypes
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    Union,
    c_char,
    c_char_p,
    c_int,
    c_long,
    c_short,
    c_uint,
    c_void_p,
)
from dataclasses import dataclass

import numpy as np

from serkit.corpora.mini.profiles import Prosody
from serkit.errors import SerkitError

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS = 0x0001
_INITIALIZE_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_ENDPAUSE = 0x1000
_RATE, _VOLUME, _PITCH, _RANGE, _WORDGAP = 1, 2, 3, 4, 7

EVENT_WORD, EVENT_END, EVENT_PHONEME = 1, 5, 7


class _EventId(Union):
    _fields_ = [("number", c_int), ("name", c_char_p), ("string", c_char * 8)]


class _Event(Structure):
    _fields_ = [
        ("type", c_int),
        ("unique_identifier", c_uint),
        ("text_position", c_int),
        ("length", c_int),
        ("audio_position", c_int),
        ("sample", c_int),
        ("user_data", c_void_p),
        ("id", _EventId),
    ]


_Callback = CFUNCTYPE(c_int, POINTER(c_short), c_int, POINTER(_Event))


@dataclass(frozen=True)
class Event:
    """One synthesis event: ``kind`` (WORD, PHONEME or END), 0-based character position, sample, phoneme."""

    kind: int
    position: int
    length: int
    sample: int
    phoneme: str = ""


@dataclass(frozen=True)
class Synthesis:
    """The int16 PCM of one utterance at ``sample_rate`` and its events in order."""

    pcm: np.ndarray
    sample_rate: int
    events: tuple[Event, ...]


class Espeak:
    """One initialised libespeak-ng per process, reading voices from ``data_dir``."""

    _instance_made = False

    def __init__(self, data_dir: str) -> None:
        if Espeak._instance_made:
            raise RuntimeError("libespeak-ng holds global state: create one Espeak per process")
        try:
            import espeakng_loader

            self._lib = ctypes.CDLL(espeakng_loader.get_library_path())
        except (ImportError, OSError) as err:
            raise SerkitError(
                "cannot load libespeak-ng from espeakng-loader", hint="pip install espeakng-loader"
            ) from err
        lib = self._lib
        lib.espeak_Initialize.argtypes = [c_int, c_int, c_char_p, c_int]
        lib.espeak_SetVoiceByName.argtypes = [c_char_p]
        lib.espeak_SetParameter.argtypes = [c_int, c_int, c_int]
        lib.espeak_Synth.argtypes = [
            c_void_p,
            ctypes.c_size_t,
            c_uint,
            c_int,
            c_uint,
            c_uint,
            c_void_p,
            c_void_p,
        ]
        lib.espeak_TextToPhonemes.argtypes = [POINTER(c_void_p), c_int, c_int]
        lib.espeak_TextToPhonemes.restype = c_char_p
        lib.espeak_ng_SetRandSeed.argtypes = [c_long]
        options = _INITIALIZE_DONT_EXIT | _INITIALIZE_PHONEME_EVENTS
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data_dir.encode(), options)
        if rate <= 0:
            raise SerkitError("libespeak-ng failed to initialise", path=data_dir)
        Espeak._instance_made = True
        self.sample_rate = int(rate)
        self._chunks: list[bytes] = []
        self._events: list[Event] = []
        self._callback = _Callback(self._on_audio)  # keep a reference: ctypes does not
        lib.espeak_SetSynthCallback(self._callback)
        self._voice: str | None = None
        self._phoneme_counts: dict[tuple[str, str], int] = {}

    def _on_audio(self, wav, n_samples, events) -> int:
        if n_samples > 0:
            self._chunks.append(ctypes.string_at(wav, n_samples * 2))
        i = 0
        while events[i].type != 0:
            e = events[i]
            if e.type in (EVENT_WORD, EVENT_PHONEME, EVENT_END):
                phoneme = e.id.string.decode("ascii", "replace") if e.type == EVENT_PHONEME else ""
                self._events.append(Event(e.type, e.text_position - 1, e.length, e.sample, phoneme))
            i += 1
        return 0

    def _set_voice(self, voice: str) -> None:
        if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise SerkitError(f"espeak-ng does not know the voice {voice!r}")
        self._voice = voice

    def synthesize(self, text: str, voice: str, prosody: Prosody, seed: int) -> Synthesis:
        """Synthesise ``text`` with ``voice`` at ``prosody`` (volume fixed at 100; apply gain in numpy)."""
        lib = self._lib
        lib.espeak_ng_SetRandSeed(seed % (2**31))
        self._set_voice(voice)
        for param, value in (
            (_RATE, prosody.rate),
            (_VOLUME, 100),
            (_PITCH, prosody.pitch),
            (_RANGE, prosody.range),
            (_WORDGAP, 0),
        ):
            lib.espeak_SetParameter(param, value, 0)
        self._chunks.clear()
        self._events.clear()
        data = text.encode("utf-8") + b"\0"
        status = lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8 | _ENDPAUSE, None, None)
        if status != 0:
            raise SerkitError(f"espeak-ng failed (status {status}) on {text!r}")
        pcm = np.frombuffer(b"".join(self._chunks), dtype=np.int16).copy()
        return Synthesis(pcm=pcm, sample_rate=self.sample_rate, events=tuple(self._events))

    def phoneme_count(self, word: str, voice: str) -> int:
        """Number of phonemes espeak gives ``word`` spoken alone (translation only, no audio)."""
        key = (voice, word)
        if key not in self._phoneme_counts:
            if self._voice != voice:
                self._set_voice(voice)
            buffer = ctypes.create_string_buffer(word.encode("utf-8") + b"\0")
            pointer = c_void_p(ctypes.addressof(buffer))
            phonemes = (
                self._lib.espeak_TextToPhonemes(ctypes.byref(pointer), _CHARS_UTF8, ord("|") << 8) or b""
            )
            count = sum(1 for p in phonemes.decode("utf-8", "replace").replace(" ", "|").split("|") if p)
            self._phoneme_counts[key] = max(count, 1)
        return self._phoneme_counts[key]
