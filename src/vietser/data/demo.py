"""A synthetic Vietnamese call-centre corpus, so vietser runs on a fresh machine with no data.

Every clip is espeak-ng formant synthesis (:mod:`vietser.data.espeak`) of a short
Vietnamese sentence of the kind heard on a hotline, an emergency line or a
customer-service line, post-processed in numpy. It is **not human speech**: use
it to exercise the whole pipeline offline (manifest, features, models, routing,
rules, LLM reasoning, reports), never to judge real-world accuracy.

How the classes are made, relative to each speaker's own baseline voice:

* calm: baseline pitch, narrow range, moderate rate and level, mild declination;
* angry: louder, somewhat higher pitch, wider and falling contour, faster, tense
  voice (pre-emphasis and soft clipping);
* panic: much higher and rising pitch, wide range, fast and irregular rate,
  short pauses, breathy noise and a ~6 Hz tremor.

Each clip draws an arousal ``intensity`` in [0, 1]; the class effects scale with
it, so low-intensity angry/panic clips sound nearly calm and lively calm clips
drift towards them: about a fifth of the clips are genuinely ambiguous. Three
simulated annotators agree with the true label on clear clips and disagree more
on ambiguous ones. Sentences are partly class-typical, partly neutral, so the
text alone does not give the label away. Background noise (pink, brown or
babble-like) is mixed in at 10–30 dB SNR.

Layout written to ``out_dir``::

    manifest.csv                    path, label, speaker, split, transcript,
                                    annotator_a/b/c, intensity
    README.md                       what the corpus is and is not
    audio/spk01/spk01_001.wav ...   16 kHz mono 16-bit PCM

Splits are by speaker (10 speakers: 6 train, 2 dev, 2 test). Output is
deterministic: the same arguments give byte-identical files. Because espeak-ng
carries state from call to call, each speaker is rendered in a fresh process.
"""

from __future__ import annotations

import csv
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from vietser.data.espeak import VIETNAMESE_VOICES, synthesize
from vietser.errors import ConfigError
from vietser.labels import CLASSES

SAMPLE_RATE = 16_000
ANNOTATORS: tuple[str, ...] = ("annotator_a", "annotator_b", "annotator_c")
MANIFEST_COLUMNS: tuple[str, ...] = ("path", "label", "speaker", "split", "transcript", *ANNOTATORS, "intensity")

SENTENCES: dict[str, tuple[str, ...]] = {
    "calm": (
        "Tôi muốn hỏi về hóa đơn tiền điện tháng này.",
        "Cho tôi hỏi giờ làm việc của chi nhánh.",
        "Tôi muốn đổi sang gói cước khác rẻ hơn.",
        "Nhờ chị kiểm tra giúp tôi đơn hàng hôm qua.",
        "Tôi cần cập nhật địa chỉ nhận thư.",
        "Cảm ơn anh, tôi đã hiểu cách làm rồi.",
        "Tôi muốn đặt lịch hẹn vào sáng thứ hai.",
        "Xin hỏi phí chuyển khoản là bao nhiêu?",
        "Tôi gọi để xác nhận lịch giao hàng.",
        "Vâng, tôi sẽ chờ nhân viên gọi lại.",
    ),
    "angry": (
        "Tôi đã gọi ba lần mà vẫn chưa ai giải quyết.",
        "Sao các anh lại trừ tiền của tôi?",
        "Dịch vụ gì mà tệ như thế này!",
        "Tôi yêu cầu gặp người quản lý ngay bây giờ.",
        "Giao sai hàng mà không ai chịu trách nhiệm.",
        "Tôi không chấp nhận cách làm việc này.",
        "Mạng nhà tôi mất cả tuần nay rồi đấy!",
        "Các anh đừng bắt tôi chờ máy thêm nữa.",
        "Còn như vậy thì tôi hủy hợp đồng.",
        "Đã hứa hoàn tiền mà đến giờ vẫn chưa có.",
    ),
    "panic": (
        "Cứu với, nhà tôi đang bị cháy to lắm!",
        "Có một người vừa bị ngã xuống sông rồi!",
        "Con tôi không thở được, làm ơn nhanh lên!",
        "Có tai nạn giao thông ở ngã tư này!",
        "Ông tôi bị ngất, gọi không dậy được.",
        "Có người lạ đang phá cửa nhà tôi!",
        "Nước tràn vào nhà, chúng tôi bị kẹt.",
        "Xe cấp cứu đâu rồi, máu chảy nhiều lắm!",
        "Mùi ga nồng lắm, tôi phải làm sao?",
        "Làm ơn đến ngay, ở đây nguy hiểm lắm!",
    ),
    "neutral": (
        "Alô, anh có nghe tôi nói không?",
        "Địa chỉ của tôi là số mười hai phố Huế.",
        "Số điện thoại của tôi là không chín một hai.",
        "Tôi đang ở gần chợ Bến Thành, quận một.",
        "Chị ghi lại giúp tôi số điện thoại này với.",
        "Tôi tên là Nguyễn Văn Nam, ở quận Ba Đình.",
        "Bây giờ tôi phải làm gì tiếp theo ạ?",
        "Anh nói lại lần nữa giúp tôi được không?",
        "Tôi đang đứng ngay trước cổng bệnh viện tỉnh.",
        "Chuyện này xảy ra khoảng mười phút trước.",
    ),
}

# espeak-ng variants whose pitch tracks cleanly (m1 and m4 add octave-jumping roughness).
_MALE_VARIANTS = ("m2", "m3", "m5", "m6", "m7")
_FEMALE_VARIANTS = ("f1", "f2", "f3", "f4", "f5")
_README = """# vietser demo corpus (synthetic)

{n_clips} clips from {n_speakers} synthetic speakers, labelled calm / angry / panic,
generated by `vietser demo` (seed {seed}).

**This is not human speech.** Every clip is espeak-ng formant synthesis of a short
Vietnamese sentence, with class-typical prosody (pitch level and range, rate,
loudness, tension, breathiness, tremor, pauses), per-clip arousal intensity and
background noise added in software. Use it to exercise the whole vietser pipeline
offline; do not use it to judge how well a model works on real callers.

## Layout

- `manifest.csv`: `path` (relative to this folder), `label` (true class),
  `speaker`, `split` (by speaker: train / dev / test), `transcript`,
  `annotator_a` / `annotator_b` / `annotator_c` (simulated annotators, who
  disagree more on ambiguous clips), `intensity` (drawn arousal, 0–1; low
  values of angry / panic and high values of calm are the ambiguous clips).
- `audio/<speaker>/<speaker>_<nnn>.wav`: 16 kHz mono 16-bit PCM.
"""


@dataclass(frozen=True)
class _Speaker:
    """A synthetic speaker: an espeak-ng voice and its own baseline prosody."""

    id: str
    split: str
    voice: str
    pitch: float
    pitch_range: float
    rate: float
    volume: int
    level_db: float


@dataclass(frozen=True)
class _ClipPlan:
    """Everything that decides one clip; rendering it is deterministic."""

    speaker: _Speaker
    path: str
    label: str
    intensity: float
    transcript: str
    annotations: tuple[str, ...]
    seed: tuple[int, ...]


@dataclass(frozen=True)
class DemoCorpus:
    """Where the corpus was written and what it holds."""

    out_dir: Path
    manifest_path: Path
    n_clips: int
    speakers: tuple[str, ...]
    elapsed_s: float


def make_demo_corpus(
    out_dir: Path,
    n_speakers: int = 10,
    clips_per_speaker: int = 30,
    seed: int = 0,
    n_jobs: int = 1,
) -> DemoCorpus:
    """Write the synthetic corpus (audio, ``manifest.csv``, ``README.md``) into ``out_dir``.

    Args:
        out_dir: folder to write into (created; existing clips are overwritten).
        n_speakers: at least 3, so that train, dev and test each get a speaker.
        clips_per_speaker: at least 3, so that every speaker has every class.
        seed: same seed, same bytes.
        n_jobs: processes rendering speakers in parallel (does not change the output).
            Speakers are rendered in fresh "spawn" processes, so a script calling
            this must do so under ``if __name__ == "__main__":``.

    Raises:
        ConfigError: a size is too small.
        SynthesisError: espeak-ng is unavailable.
    """
    if n_speakers < 3 or clips_per_speaker < 3 or n_jobs < 1:
        raise ConfigError(
            f"Demo corpus needs n_speakers >= 3, clips_per_speaker >= 3 and n_jobs >= 1; "
            f"got {n_speakers}, {clips_per_speaker} and {n_jobs}."
        )
    started = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    speakers = _plan_speakers(n_speakers, seed)
    plans = [_plan_clips(speaker, k, clips_per_speaker, seed) for k, speaker in enumerate(speakers)]
    # A fresh process per speaker: espeak-ng output depends on the calls made before it.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=n_jobs, mp_context=context, max_tasks_per_child=1) as pool:
        list(pool.map(_render_speaker, plans, [out_dir] * len(plans)))
    clips = [clip for speaker_clips in plans for clip in speaker_clips]
    manifest_path = out_dir / "manifest.csv"
    _write_manifest(manifest_path, clips)
    readme = _README.format(n_clips=len(clips), n_speakers=n_speakers, seed=seed)
    (out_dir / "README.md").write_text(readme, encoding="utf-8")
    return DemoCorpus(
        out_dir=out_dir,
        manifest_path=manifest_path,
        n_clips=len(clips),
        speakers=tuple(speaker.id for speaker in speakers),
        elapsed_s=time.perf_counter() - started,
    )


def _plan_speakers(n_speakers: int, seed: int) -> list[_Speaker]:
    """Draw voices and baselines; rotate dialects and alternate sexes; split by speaker."""
    splits = _speaker_splits(n_speakers, np.random.default_rng([seed, 0]))
    speakers = []
    for k in range(n_speakers):
        rng = np.random.default_rng([seed, 1, k])
        variant = rng.choice(_FEMALE_VARIANTS if k % 2 else _MALE_VARIANTS)
        speakers.append(
            _Speaker(
                id=f"spk{k + 1:02d}",
                split=splits[k],
                voice=f"{VIETNAMESE_VOICES[k % len(VIETNAMESE_VOICES)]}+{variant}",
                pitch=float(rng.uniform(35, 60)),
                pitch_range=float(rng.uniform(35, 55)),
                rate=float(rng.uniform(135, 165)),
                volume=int(rng.integers(50, 71)),
                level_db=float(rng.uniform(-32, -24)),
            )
        )
    return speakers


def _speaker_splits(n_speakers: int, rng: np.random.Generator) -> list[str]:
    n_held_out = max(1, round(0.2 * n_speakers))
    ordered = ["test"] * n_held_out + ["dev"] * n_held_out + ["train"] * (n_speakers - 2 * n_held_out)
    return [ordered[i] for i in rng.permutation(n_speakers)]


def _plan_clips(speaker: _Speaker, k: int, clips_per_speaker: int, seed: int) -> list[_ClipPlan]:
    """Balanced labels in random order, a sentence, an intensity and three annotations per clip."""
    rng = np.random.default_rng([seed, 2, k])
    labels = [CLASSES[j % len(CLASSES)] for j in rng.permutation(clips_per_speaker)]
    plans = []
    for j, label in enumerate(labels):
        intensity = _draw_intensity(label, rng)
        plans.append(
            _ClipPlan(
                speaker=speaker,
                path=f"audio/{speaker.id}/{speaker.id}_{j + 1:03d}.wav",
                label=label,
                intensity=intensity,
                transcript=_draw_sentence(label, rng),
                # annotator_c is the least careful of the three
                annotations=tuple(_annotate(label, intensity, c, rng) for c in (0.9, 1.0, 1.2)),
                seed=(seed, 3, k, j),
            )
        )
    return plans


def _draw_intensity(label: str, rng: np.random.Generator) -> float:
    """Arousal 0–1: calm mostly low, angry and panic spread so that their low end overlaps calm."""
    a, b = (1.3, 7.0) if label == "calm" else (2.4, 1.8)
    return round(float(rng.beta(a, b)), 3)


def _draw_sentence(label: str, rng: np.random.Generator) -> str:
    draw = rng.random()
    if draw < 0.4:
        pool = SENTENCES["neutral"]
    elif draw < 0.85:
        pool = SENTENCES[label]
    else:
        pool = SENTENCES[str(rng.choice([c for c in CLASSES if c != label]))]
    return str(rng.choice(pool))


def _ambiguity(label: str, intensity: float) -> float:
    """0 for a clear clip, 1 for one that sounds like another class."""
    if label == "calm":
        return float(np.clip((intensity - 0.25) / 0.3, 0.0, 1.0))
    return float(np.clip((0.4 - intensity) / 0.3, 0.0, 1.0))


def _annotate(label: str, intensity: float, carelessness: float, rng: np.random.Generator) -> str:
    """One simulated annotator: wrong more often on ambiguous clips, and then towards the nearer class."""
    amb = _ambiguity(label, intensity)
    if rng.random() >= carelessness * (0.03 + 0.5 * amb):
        return label
    if label == "calm":
        return str(rng.choice(["angry", "panic"]))
    other = "panic" if label == "angry" else "angry"
    return "calm" if rng.random() < amb else other


def _write_manifest(path: Path, clips: list[_ClipPlan]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(MANIFEST_COLUMNS)
        for clip in clips:
            writer.writerow(
                [clip.path, clip.label, clip.speaker.id, clip.speaker.split, clip.transcript,
                 *clip.annotations, f"{clip.intensity:.3f}"]
            )


def _render_speaker(clips: list[_ClipPlan], out_dir: Path) -> None:
    for clip in clips:
        path = out_dir / clip.path
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, _render_clip(clip), SAMPLE_RATE, subtype="PCM_16")


def _render_clip(clip: _ClipPlan) -> np.ndarray:
    """Speak, apply class effects, set level, pad and add background noise: 16 kHz float32."""
    rng = np.random.default_rng(list(clip.seed))
    speaker, i = clip.speaker, clip.intensity
    speech = _speak_phrases(clip, rng)
    if clip.label == "angry":
        speech = _tense(speech, i)
    elif clip.label == "panic":
        speech = _breathe(_tremble(speech, i, rng), i, rng)
    gain_db = {"calm": 3.0, "angry": 9.0, "panic": 6.0}[clip.label] * i + rng.normal(0, 1.0)
    speech *= 10 ** ((speaker.level_db + gain_db) / 20) / _active_rms(speech)
    pad = [int(rng.uniform(0.15, 0.4) * SAMPLE_RATE) for _ in range(2)]
    signal = np.concatenate([np.zeros(pad[0]), speech, np.zeros(pad[1])])
    snr_db = rng.uniform(10, 30)
    signal += _background(len(signal), rng) * 10 ** ((speaker.level_db - snr_db) / 20)
    return np.clip(signal, -1.0, 1.0).astype(np.float32)


def _speak_phrases(clip: _ClipPlan, rng: np.random.Generator) -> np.ndarray:
    """Synthesise phrase by phrase along a class contour (falling, rising) with class pauses."""
    speaker, i, label = clip.speaker, clip.intensity, clip.label
    pitch_shift, range_add, rate_gain = {"calm": (6, 15, 0.05), "angry": (16, 35, 0.2), "panic": (35, 40, 0.3)}[label]
    slope = {"calm": -3.0, "angry": -3.0 - 10.0 * i, "panic": 12.0 * i}[label]
    rate_jitter = 0.15 * i if label == "panic" else 0.03
    base_pitch = speaker.pitch + pitch_shift * i + rng.normal(0, 2.0)
    pitch_range = int(np.clip(0.8 * speaker.pitch_range + range_add * i, 0, 99))
    phrases = _phrases(clip.transcript)
    pieces = []
    for n, (phrase, after_comma) in enumerate(phrases):
        position = n / (len(phrases) - 1) - 0.5 if len(phrases) > 1 else 0.0
        samples, native_rate = synthesize(
            phrase,
            voice=speaker.voice,
            rate=int(np.clip(speaker.rate * (1 + rate_gain * i + rng.normal(0, rate_jitter)), 80, 450)),
            pitch=int(np.clip(base_pitch + slope * position, 0, 99)),
            pitch_range=pitch_range,
            volume=speaker.volume,
            seed=int(rng.integers(2**31)),
        )
        if n:
            pieces.append(np.zeros(int(_pause_s(label, i, after_comma, rng) * native_rate)))
        pieces.append(_trim(samples))
    speech = soxr.resample(np.concatenate(pieces), native_rate, SAMPLE_RATE, quality="HQ")
    return speech.astype(np.float64)


def _phrases(sentence: str) -> list[tuple[str, bool]]:
    """Split at commas, and long phrases in two; flag phrases that follow a comma."""
    phrases = []
    for n, part in enumerate(sentence.split(",")):
        words = part.split()
        halves = [words[: len(words) // 2], words[len(words) // 2 :]] if len(words) > 6 else [words]
        phrases += [(" ".join(half), n > 0 and h == 0) for h, half in enumerate(halves)]
    return phrases


def _pause_s(label: str, i: float, after_comma: bool, rng: np.random.Generator) -> float:
    if label == "panic":
        return 0.03 + rng.uniform(0, 0.3 * i)
    if after_comma:
        return rng.uniform(0.12, 0.2) if label == "calm" else rng.uniform(0.06, 0.12)
    return 0.03 if label == "calm" else 0.01


def _trim(samples: np.ndarray, floor: float = 1e-3) -> np.ndarray:
    voiced = np.flatnonzero(np.abs(samples) > floor)
    return samples[voiced[0] : voiced[-1] + 1] if voiced.size else samples


def _tense(x: np.ndarray, amount: float) -> np.ndarray:
    """Pressed voice: flatter spectral tilt (pre-emphasis) and soft clipping, growing with intensity."""
    emphasised = np.concatenate([x[:1], x[1:] - 0.95 * x[:-1]])
    x = (1 - 0.6 * amount) * x + 0.6 * amount * emphasised
    drive = 1.0 + 3.0 * amount
    return np.tanh(drive * x / np.max(np.abs(x))) / np.tanh(drive)


def _tremble(x: np.ndarray, amount: float, rng: np.random.Generator) -> np.ndarray:
    """~6 Hz tremor: frequency modulation by a moving read position, plus amplitude modulation."""
    rate_hz = rng.uniform(5.0, 7.0)
    phase = 2 * np.pi * rate_hz * np.arange(len(x)) / SAMPLE_RATE + rng.uniform(0, 2 * np.pi)
    delay = 0.04 * amount / (2 * np.pi * rate_hz) * SAMPLE_RATE * np.sin(phase)  # peak deviation 4 %
    warped = np.interp(np.arange(len(x)) - delay, np.arange(len(x)), x)
    return warped * (1 + 0.25 * amount * np.sin(phase + rng.uniform(0, np.pi)))


def _breathe(x: np.ndarray, amount: float, rng: np.random.Generator) -> np.ndarray:
    """Breathy voice: high-passed noise that follows the speech envelope."""
    envelope = np.convolve(np.abs(x), np.ones(320) / 320, mode="same")
    noise = np.diff(rng.normal(size=len(x) + 1)) * envelope
    return x + 0.25 * amount * noise * _active_rms(x) / _active_rms(noise)


def _background(n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS pink, brown or babble-like noise."""
    kind = rng.choice(["pink", "brown", "babble"])
    n_fft = 1 << (n - 1).bit_length()  # power-of-two FFTs: arbitrary lengths are many times slower
    freqs = np.maximum(np.fft.rfftfreq(n_fft, 1 / SAMPLE_RATE), 20.0)
    if kind == "babble":
        band = (freqs / (freqs + 250)) / (1 + (freqs / 3000) ** 4) / np.sqrt(freqs)  # speech-like band
        talkers = _shaped((5, n_fft), band, rng)[:, :n]
        noise = np.sum(talkers * _syllable_envelopes(5, n, rng), axis=0)
    else:
        noise = _shaped((n_fft,), freqs ** (-0.5 if kind == "pink" else -1.0), rng)[:n]
    return noise / np.sqrt(np.mean(noise**2))


def _shaped(shape: tuple[int, ...], magnitude: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    spectrum = np.fft.rfft(rng.normal(size=shape), axis=-1) * magnitude
    return np.fft.irfft(spectrum, n=shape[-1], axis=-1)


def _syllable_envelopes(n_talkers: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """Loudness of each babbling talker, changing about every 125 ms (syllable rate)."""
    knots = np.arange(n // 2000 + 2) * 2000
    return np.stack([np.interp(np.arange(n), knots, rng.random(len(knots))) for _ in range(n_talkers)])


def _active_rms(x: np.ndarray, frame: int = 320) -> float:
    """RMS over the frames within 20 dB of the loudest, so pauses do not lower the level."""
    frames = x[: len(x) // frame * frame].reshape(-1, frame)
    energy = np.mean(frames**2, axis=1)
    return float(np.sqrt(np.mean(energy[energy > 0.01 * energy.max()])) + 1e-12)
