from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import make_voice_like
from vietser.data.audio import SAMPLE_RATE, Audio
from vietser.features.smile import extract_smile, smile_columns

F0_MEAN = "egemaps.F0semitoneFrom27.5Hz_sma3nz_amean"
LOUDNESS_MEAN = "egemaps.loudness_sma3_amean"


def _audio(samples: np.ndarray) -> Audio:
    return Audio(samples=samples, sample_rate=SAMPLE_RATE, path="clip.wav")


def test_returns_the_88_functionals_in_opensmile_order() -> None:
    values = extract_smile("egemaps", _audio(make_voice_like()))
    assert len(values) == 88
    assert tuple(values) == smile_columns("egemaps")
    assert all(column.startswith("egemaps.") for column in values)
    assert all(math.isfinite(value) for value in values.values())


def test_f0_semitone_mean_of_a_200_hz_voice() -> None:
    values = extract_smile("egemaps", _audio(make_voice_like(f0=200.0)))
    assert values[F0_MEAN] == pytest.approx(12 * math.log2(200.0 / 27.5), abs=0.5)


def test_padding_silence_does_not_change_the_functionals() -> None:
    # RAVDESS clips are about half silence, EmoDB's and call segments almost none: the same
    # speech must give the same loudness percentiles and rates however much padding it has.
    speech = make_voice_like(duration_s=1.5)
    silence = np.zeros(SAMPLE_RATE, dtype=np.float32)
    tight = extract_smile("egemaps", _audio(speech))
    padded = extract_smile("egemaps", _audio(np.concatenate([silence, speech, silence])))
    for feature in (LOUDNESS_MEAN, "egemaps.loudness_sma3_percentile20.0", "egemaps.VoicedSegmentsPerSec"):
        assert padded[feature] == pytest.approx(tight[feature], rel=0.15), feature  # untrimmed: 0.3-0.5x


def test_louder_copy_has_higher_loudness() -> None:
    quiet = extract_smile("egemaps", _audio(make_voice_like(amplitude=0.1)))
    loud = extract_smile("egemaps", _audio(make_voice_like(amplitude=0.4)))
    assert loud[LOUDNESS_MEAN] > 1.5 * quiet[LOUDNESS_MEAN]


def test_emobase_gives_its_988_functionals_under_its_own_prefix() -> None:
    values = extract_smile("emobase", _audio(make_voice_like()))
    assert len(values) == 988
    assert tuple(values) == smile_columns("emobase")
    assert all(column.startswith("emobase.") for column in values)
    assert all(math.isfinite(value) for value in values.values())


def test_building_the_extractor_does_not_scan_the_installed_distributions() -> None:
    # A fresh process: the extractor is built once per process, and audobject caches the scan.
    code = (
        "import audobject.core.utils as utils\n"
        "def scan():\n"
        "    raise AssertionError('packages_distributions() scanned every installed distribution')\n"
        "utils.packages_distributions = scan\n"
        "from vietser.features.smile import _smile, smile_columns\n"
        "assert len(smile_columns('egemaps')) == 88\n"
        "print(_smile('egemaps').to_yaml_s().splitlines()[0])\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("$opensmile.core.smile.Smile==")
