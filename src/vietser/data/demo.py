"""A synthetic Vietnamese call-centre corpus, so vietser runs on a fresh machine with no data.

Every clip is espeak-ng formant synthesis (:mod:`vietser.data.espeak`) of a short
Vietnamese sentence of the kind heard on a hotline, an emergency line or a
customer-service line, post-processed in numpy (:mod:`vietser.data.demo_effects`).
It is **not human speech**: use it to exercise the whole pipeline offline
(manifest, features, models, routing, rules, LLM reasoning, reports), never to
judge real-world accuracy.

The corpus is meant to be about as hard as real call audio, so that routing has
clips to delegate. What each class does at full strength, relative to the
speaker's own baseline voice:

* calm: baseline pitch, narrow range, moderate rate and level, mild declination;
* angry: much louder, raised pitch, wide falling contour, faster, tense voice
  (pre-emphasis and soft clipping);
* panic: louder, pitch raised higher with a rising contour, wide range, fast
  and uneven rate, short irregular pauses, breathy noise, tremor and jitter.

Angry and panic share high arousal, so they mostly differ in loudness, tension
and contour against pitch height, breathiness and tremor. Nothing is that clean:

* each clip draws an arousal ``intensity`` in [0, 1] that scales every effect,
  so low-intensity angry and panic clips sound nearly calm and lively calm
  clips drift towards them;
* an angry or panic clip may blend in part of the other class's manner (a
  shrill, rising anger; a shouted panic);
* every cue of every clip varies on its own, and each speaker has their own
  expressiveness and style (some show emotion mostly by loudness, others by
  pitch or tempo);
* the channel varies: background noise (pink, brown or babble) at about
  6–32 dB SNR, handset gain (SD 3.5 dB) from clip to clip, and some speakers
  call over a narrow-band phone line (300–3400 Hz), always or now and then.

Three simulated annotators agree with the true label on clear clips and
disagree more on ambiguous ones, towards the class the clip sounds like.
Sentences are partly class-typical, partly neutral, so the text alone does not
give the label away.

Layout written to ``out_dir``::

    manifest.csv                    path, label, speaker, split, transcript,
                                    annotator_a/b/c, intensity
    README.md                       what the corpus is and is not
    audio/spk01/spk01_001.wav ...   16 kHz mono 16-bit PCM

The default corpus has 12 speakers × 30 clips (360 clips, 10 per class per
speaker), split by speaker: 8 train, 2 dev, 2 test (a fifth of the speakers each
for dev and test). Output is deterministic: the same arguments give
byte-identical files. Because espeak-ng carries state from call to call, each
speaker is rendered in a fresh process.
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

from vietser.data.demo_effects import SAMPLE_RATE, Channel, Expression, Voice, render_clip
from vietser.data.espeak import VIETNAMESE_VOICES
from vietser.errors import ConfigError
from vietser.labels import CLASSES

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

# espeak-ng variants whose pitch tracks cleanly (m1 and m4 add octave-jumping roughness),
# and the espeak pitch settings that give them a median F0 of about 95–125 Hz and
# 150–200 Hz: lower male settings fall below the 75 Hz floor of pitch trackers.
_MALE_VARIANTS = ("m2", "m3", "m5", "m6", "m7")
_FEMALE_VARIANTS = ("f1", "f2", "f3", "f4", "f5")
_MALE_PITCH = (60.0, 80.0)
_FEMALE_PITCH = (42.0, 62.0)
_README = """# vietser demo corpus (synthetic)

{n_clips} clips from {n_speakers} synthetic speakers ({clips_per_speaker} each), labelled
calm / angry / panic, generated by `vietser demo` (seed {seed}). Split by speaker:
{n_train} train, {n_dev} dev, {n_test} test.

**This is not human speech.** Every clip is espeak-ng formant synthesis of a short
Vietnamese sentence, with class-typical prosody (pitch level, range and contour,
rate, loudness, tension, breathiness, tremor, pauses) added in software. It is
made to be hard, like real calls: many angry and panic clips are mild and sound
nearly calm, angry and panic share high arousal and sometimes each other's
manner, speakers differ in how they show emotion, and the channel varies
(background noise, handset gain, narrow-band phone lines). Use it to exercise
the whole vietser pipeline offline; do not use it to judge how well a model
works on real callers.

## Layout

- `manifest.csv`: `path` (relative to this folder), `label` (true class),
  `speaker`, `split` (by speaker: train / dev / test), `transcript`,
  `annotator_a` / `annotator_b` / `annotator_c` (simulated annotators, who
  disagree more on ambiguous clips), `intensity` (drawn arousal, 0–1; low
  values of angry / panic and high values of calm are the ambiguous clips).
- `audio/<speaker>/<speaker>_<nnn>.wav`: 16 kHz mono 16-bit PCM.
"""


# Each class at full intensity. Angry and panic share raised pitch, effort and rate.
_PROFILES: dict[str, Expression] = {
    "calm": Expression(5, 10, 0, 0.05, 0.0, 2.5, 0.0, 0.0, 0.0, 0.0),
    "angry": Expression(18, 30, -12, 0.22, 0.03, 9.0, 1.0, 0.0, 0.0, 0.0),
    "panic": Expression(30, 35, 12, 0.26, 0.15, 6.0, 0.1, 1.0, 1.0, 1.0),
}
_RIVAL = {"calm": "calm", "angry": "panic", "panic": "angry"}
# Which of a speaker's four style factors (effort, pitch, tempo, voice quality) scales each cue.
_STYLE_OF_CUE = (1, 1, 1, 2, 2, 0, 0, 3, 3, 2)


@dataclass(frozen=True)
class _Speaker:
    """A synthetic speaker: a baseline voice, a way of showing emotion, a phone and surroundings."""

    id: str
    split: str
    voice: Voice
    expressiveness: float  # scales every emotional effect
    style: tuple[float, float, float, float]  # effort, pitch, tempo, voice quality
    phone_share: float  # share of calls over a narrow-band phone line
    snr_db: float  # typical background noise


@dataclass(frozen=True)
class _ClipPlan:
    """Everything that decides one clip; rendering it is deterministic."""

    speaker: _Speaker
    path: str
    label: str
    intensity: float
    transcript: str
    annotations: tuple[str, ...]
    expression: Expression
    channel: Channel
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
    n_speakers: int = 12,
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
    (out_dir / "README.md").write_text(_readme(speakers, clips_per_speaker, seed), encoding="utf-8")
    return DemoCorpus(
        out_dir=out_dir,
        manifest_path=manifest_path,
        n_clips=len(clips),
        speakers=tuple(speaker.id for speaker in speakers),
        elapsed_s=time.perf_counter() - started,
    )


def _readme(speakers: list[_Speaker], clips_per_speaker: int, seed: int) -> str:
    splits = [speaker.split for speaker in speakers]
    return _README.format(
        n_clips=len(speakers) * clips_per_speaker,
        n_speakers=len(speakers),
        clips_per_speaker=clips_per_speaker,
        seed=seed,
        **{f"n_{split}": splits.count(split) for split in ("train", "dev", "test")},
    )


def _plan_speakers(n_speakers: int, seed: int) -> list[_Speaker]:
    """Draw voices, baselines, styles and phones; rotate dialects and alternate sexes; split by speaker."""
    splits = _speaker_splits(n_speakers, np.random.default_rng([seed, 0]))
    speakers = []
    for k in range(n_speakers):
        rng = np.random.default_rng([seed, 1, k])
        variants, pitch = (_FEMALE_VARIANTS, _FEMALE_PITCH) if k % 2 else (_MALE_VARIANTS, _MALE_PITCH)
        variant = rng.choice(variants)
        speakers.append(
            _Speaker(
                id=f"spk{k + 1:02d}",
                split=splits[k],
                voice=Voice(
                    name=f"{VIETNAMESE_VOICES[k % len(VIETNAMESE_VOICES)]}+{variant}",
                    pitch=float(rng.uniform(*pitch)),
                    pitch_range=float(rng.uniform(35, 55)),
                    rate=float(rng.uniform(135, 165)),
                    volume=int(rng.integers(50, 71)),
                    level_db=float(rng.uniform(-32, -24)),
                ),
                expressiveness=float(rng.uniform(0.7, 1.15)),
                style=tuple(float(v) for v in rng.lognormal(0.0, 0.2, 4)),
                phone_share=float(rng.choice([0.0, 0.0, 0.0, 0.2, 1.0])),
                snr_db=float(rng.uniform(12, 26)),
            )
        )
    return speakers


def _speaker_splits(n_speakers: int, rng: np.random.Generator) -> list[str]:
    n_held_out = max(1, round(0.2 * n_speakers))
    ordered = ["test"] * n_held_out + ["dev"] * n_held_out + ["train"] * (n_speakers - 2 * n_held_out)
    return [ordered[i] for i in rng.permutation(n_speakers)]


def _plan_clips(speaker: _Speaker, k: int, clips_per_speaker: int, seed: int) -> list[_ClipPlan]:
    """Balanced labels in random order; per clip a sentence, an expression, a channel and three annotations."""
    rng = np.random.default_rng([seed, 2, k])
    labels = [CLASSES[j % len(CLASSES)] for j in rng.permutation(clips_per_speaker)]
    plans = []
    for j, label in enumerate(labels):
        intensity = _draw_intensity(label, rng)
        blend = _draw_blend(label, rng)
        plans.append(
            _ClipPlan(
                speaker=speaker,
                path=f"audio/{speaker.id}/{speaker.id}_{j + 1:03d}.wav",
                label=label,
                intensity=intensity,
                transcript=_draw_sentence(label, rng),
                # annotator_c is the least careful of the three
                annotations=tuple(_annotate(label, intensity, blend, c, rng) for c in (0.9, 1.0, 1.2)),
                expression=_draw_expression(label, intensity, blend, speaker, rng),
                channel=_draw_channel(speaker, rng),
                seed=(seed, 3, k, j),
            )
        )
    return plans


def _draw_intensity(label: str, rng: np.random.Generator) -> float:
    """Arousal 0–1: calm mostly low, angry and panic spread so that their low end overlaps calm."""
    a, b = (1.3, 5.0) if label == "calm" else (1.8, 1.5)
    return round(float(rng.beta(a, b)), 3)


def _draw_blend(label: str, rng: np.random.Generator) -> float:
    """Share of the rival aroused class's manner in an angry or panic clip (0 for calm), at most 0.5."""
    return 0.0 if label == "calm" else float(0.5 * rng.beta(1.2, 2.5))


def _draw_expression(
    label: str, intensity: float, blend: float, speaker: _Speaker, rng: np.random.Generator
) -> Expression:
    """The class profile mixed with its rival's, scaled by intensity and the speaker, each cue varied."""
    manner = (1 - blend) * np.array(_PROFILES[label]) + blend * np.array(_PROFILES[_RIVAL[label]])
    style = np.array(speaker.style)[list(_STYLE_OF_CUE)]
    spread = rng.lognormal(0.0, 0.35, len(manner))
    return Expression(*(intensity * speaker.expressiveness * style * spread * manner).tolist())


def _draw_channel(speaker: _Speaker, rng: np.random.Generator) -> Channel:
    return Channel(
        phone=bool(rng.random() < speaker.phone_share),
        snr_db=float(np.clip(speaker.snr_db + rng.normal(0, 3), 3, 35)),
        gain_db=float(rng.normal(0, 3.5)),
    )


def _draw_sentence(label: str, rng: np.random.Generator) -> str:
    draw = rng.random()
    if draw < 0.4:
        pool = SENTENCES["neutral"]
    elif draw < 0.85:
        pool = SENTENCES[label]
    else:
        pool = SENTENCES[str(rng.choice([c for c in CLASSES if c != label]))]
    return str(rng.choice(pool))


def _ambiguity(label: str, intensity: float, blend: float) -> tuple[float, float]:
    """How much a clip sounds like calm (or, for calm, aroused) and like the rival aroused class, 0–1 each."""
    if label == "calm":
        return float(np.clip((intensity - 0.25) / 0.3, 0.0, 1.0)), 0.0
    return float(np.clip((0.4 - intensity) / 0.3, 0.0, 1.0)), float(np.clip((blend - 0.15) / 0.25, 0.0, 1.0))


def _annotate(label: str, intensity: float, blend: float, carelessness: float, rng: np.random.Generator) -> str:
    """One simulated annotator: wrong more often on ambiguous clips, and then towards the class it sounds like."""
    arousal, rival = _ambiguity(label, intensity, blend)
    if rng.random() >= carelessness * (0.02 + 0.45 * max(arousal, rival)):
        return label
    if label == "calm":
        return str(rng.choice(["angry", "panic"]))
    return "calm" if rng.random() * (arousal + rival) < arousal else _RIVAL[label]


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
        samples = render_clip(clip.transcript, clip.speaker.voice, clip.expression, clip.channel, list(clip.seed))
        sf.write(path, samples, SAMPLE_RATE, subtype="PCM_16")
