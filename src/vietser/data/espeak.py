"""Synthesise Vietnamese speech in memory with libespeak-ng (ctypes).

The library and its data (including the Vietnamese dictionary ``vi_dict``) come
from the ``espeakng-loader`` wheel, so nothing has to be installed system-wide.
Only what the demo corpus needs is bound: pick a voice, set rate, pitch, pitch
range and volume, synthesise UTF-8 text, collect the 16-bit samples.

espeak-ng is one global engine per process: it is initialised on first use and
every call holds a lock. Its noise generator is reseeded on every call
(``seed``), but the engine also carries state from call to call (the phase of
its pitch "flutter", among others), so the exact samples of a call depend on
the calls made before it in the same process. Callers that need byte-identical
output make a fixed sequence of calls in a fresh process.

Example::

    samples, sample_rate = synthesize("Xin chào.", voice="vi+f2",
                                      rate=160, pitch=50, pitch_range=50, volume=60)
"""

from __future__ import annotations

import ctypes
import os
import threading
from dataclasses import dataclass, field
from typing import Any

import espeakng_loader
import numpy as np

from vietser.errors import SynthesisError

VIETNAMESE_VOICES: tuple[str, ...] = ("vi", "vi-VN-x-central", "vi-VN-x-south")
"""Northern, central (Huế) and southern (Sài Gòn) Vietnamese; append a variant such as ``+f2``."""

# Values from espeak-ng's speak_lib.h.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000  # return an error instead of calling exit() when data is missing
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EE_OK = 0
_PARAM_RATE = 1
_PARAM_VOLUME = 2
_PARAM_PITCH = 3
_PARAM_RANGE = 4

# Accepted values (espeak-ng clamps pitch and range at 99 internally).
_LIMITS: dict[str, tuple[int, int]] = {
    "rate": (80, 450),
    "pitch": (0, 99),
    "pitch_range": (0, 99),
    "volume": (0, 200),
}

_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


@dataclass
class _Engine:
    lib: ctypes.CDLL
    sample_rate: int
    chunks: list[np.ndarray] = field(default_factory=list)
    # The library keeps a raw pointer to the callback: the Python object must outlive it.
    callback: Any = None


_LOCK = threading.Lock()
_ENGINE: _Engine | None = None


def synthesize(
    text: str,
    voice: str,
    rate: int,
    pitch: int,
    pitch_range: int,
    volume: int,
    seed: int = 0,
) -> tuple[np.ndarray, int]:
    """Speak ``text`` with an espeak-ng voice and return ``(float32 samples, sample rate)``.

    Args:
        text: UTF-8 text (Vietnamese with diacritics for the ``vi`` voices).
        voice: espeak-ng voice name, optionally with a variant: ``vi``,
            ``vi-VN-x-central+m3``, ``vi-VN-x-south+f2``.
        rate: speaking rate in words per minute, 80–450 (espeak default 175).
        pitch: base pitch, 0–99 (50 is the voice's normal pitch).
        pitch_range: pitch excursion, 0–99 (0 is monotone, 50 normal).
        volume: amplitude, 0–200 (100 normal; above 100 espeak may clip).
        seed: seed of espeak-ng's noise generator (breath noise of variants such
            as ``+f3``), which otherwise is seeded from the clock.

    Returns:
        Mono samples in [-1, 1] (espeak's trailing silence included) and the
        engine's sample rate (22050 Hz).

    Raises:
        SynthesisError: the library cannot be loaded, the voice is unknown, a
            parameter is out of range or synthesis fails.
    """
    if not text.strip():
        raise SynthesisError("Nothing to synthesise: the text is empty.")
    _check_limits(rate=rate, pitch=pitch, pitch_range=pitch_range, volume=volume)
    with _LOCK:
        engine = _engine()
        _select_voice(engine.lib, voice)
        for parameter, value in (
            (_PARAM_RATE, rate),
            (_PARAM_VOLUME, volume),
            (_PARAM_PITCH, pitch),
            (_PARAM_RANGE, pitch_range),
        ):
            engine.lib.espeak_SetParameter(parameter, value, 0)
        engine.lib.espeak_ng_SetRandSeed(seed)
        engine.chunks.clear()
        encoded = text.encode("utf-8") + b"\0"
        status = engine.lib.espeak_Synth(encoded, len(encoded), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        if status != _EE_OK:
            raise SynthesisError(f"espeak-ng failed to synthesise {text!r} (status {status}).")
        pcm = np.concatenate(engine.chunks) if engine.chunks else np.zeros(0, dtype=np.int16)
        engine.chunks.clear()
        return (pcm.astype(np.float32) / 32768.0), engine.sample_rate


def _check_limits(**values: int) -> None:
    for name, value in values.items():
        low, high = _LIMITS[name]
        if not low <= value <= high:
            raise SynthesisError(f"espeak-ng {name} is {value}, expected {low}–{high}.")


def _select_voice(lib: ctypes.CDLL, voice: str) -> None:
    if lib.espeak_SetVoiceByName(voice.encode("utf-8")) != _EE_OK:
        raise SynthesisError(
            f"espeak-ng has no voice {voice!r}. Vietnamese voices: {', '.join(VIETNAMESE_VOICES)} "
            "(optionally with a variant such as '+f2' or '+m3')."
        )


def _engine() -> _Engine:
    """The process-wide engine, loaded and initialised on first use (caller holds the lock)."""
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = _load_engine()
    return _ENGINE


def _load_engine() -> _Engine:
    library_path = espeakng_loader.get_library_path()
    try:
        data_path = espeakng_loader.get_data_path()
        lib = ctypes.CDLL(library_path)
    except (OSError, RuntimeError) as exc:
        raise SynthesisError(
            f"Cannot load libespeak-ng from {library_path} ({exc}). "
            "Reinstall it with: pip install --force-reinstall espeakng-loader"
        ) from exc
    _declare_signatures(lib)
    sample_rate = lib.espeak_Initialize(
        _AUDIO_OUTPUT_SYNCHRONOUS, 0, os.fsencode(data_path), _INITIALIZE_DONT_EXIT
    )
    if sample_rate <= 0:
        raise SynthesisError(
            f"libespeak-ng could not initialise with data at {data_path}. "
            "Reinstall it with: pip install --force-reinstall espeakng-loader"
        )
    engine = _Engine(lib=lib, sample_rate=sample_rate)

    def collect(samples: Any, n_samples: int, _events: Any) -> int:
        if samples and n_samples > 0:
            engine.chunks.append(np.ctypeslib.as_array(samples, shape=(n_samples,)).copy())
        return 0  # 0 = continue synthesis

    engine.callback = _SynthCallback(collect)
    lib.espeak_SetSynthCallback(engine.callback)
    return engine


def _declare_signatures(lib: ctypes.CDLL) -> None:
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
    lib.espeak_SetSynthCallback.restype = None
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetVoiceByName.restype = ctypes.c_int
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_SetParameter.restype = ctypes.c_int
    lib.espeak_Synth.argtypes = [
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_uint,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.c_uint,
        ctypes.c_void_p,
        ctypes.c_void_p,
    ]
    lib.espeak_Synth.restype = ctypes.c_int
    lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
    lib.espeak_ng_SetRandSeed.restype = None
