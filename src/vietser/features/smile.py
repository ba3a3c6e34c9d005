"""openSMILE functionals: eGeMAPS v02 (88 values per clip), emobase (988) and ComParE 2016 (6373).

eGeMAPS is the interpretable minimal set that evidence and rules read;
emobase and ComParE are wide brute-force sets (MFCC, LSP, zero-crossing,
auditory-spectrum functionals) that a second acoustic model reads, see
:class:`vietser.acoustic.config.AcousticConfig.late_fusion`.
"""

from __future__ import annotations

from functools import cache

import audobject.core.utils
import numpy as np
import opensmile
from opensmile.core.lib import OpenSmileException

from vietser.data.audio import Audio
from vietser.errors import FeatureError
from vietser.features.prosody import utterance

OPENSMILE_SETS: dict[str, opensmile.FeatureSet] = {
    "egemaps": opensmile.FeatureSet.eGeMAPSv02,
    "emobase": opensmile.FeatureSet.emobase,
    "compare": opensmile.FeatureSet.ComParE_2016,
}


@cache
def _smile(name: str) -> opensmile.Smile:
    # Building the openSMILE configuration costs more than analysing a short
    # clip, so each process builds it once per feature set.
    _known_distribution()
    return opensmile.Smile(feature_set=OPENSMILE_SETS[name], feature_level=opensmile.FeatureLevel.Functionals)


def _known_distribution() -> None:
    # A Smile records its class key, whose package audobject looks up in
    # importlib.metadata.packages_distributions(): a scan of every installed
    # distribution's file list (0.2-0.5 s here, 10x building the configuration)
    # unless the module is in audobject's cache of that scan. opensmile is its
    # own distribution, which is all the lookup would find.
    audobject.core.utils.PACKAGES_DISTRIBUTIONS.setdefault("opensmile", ["opensmile"])


def smile_columns(name: str) -> tuple[str, ...]:
    """The ``<name>.<openSMILE name>`` columns of one openSMILE set, in openSMILE's order."""
    return tuple(f"{name}.{feature}" for feature in _smile(name).feature_names)


def extract_smile(name: str, audio: Audio) -> dict[str, float]:
    """Compute the functionals of openSMILE set ``name`` over the clip's :func:`utterance` (without its
    leading and trailing silence), keyed ``<name>.<openSMILE name>``.

    Raises:
        FeatureError: openSMILE failed or returned non-finite values.
    """
    smile = _smile(name)
    try:
        speech = utterance(audio)
        frame = smile.process_signal(speech.samples, speech.sample_rate)
    except (OpenSmileException, RuntimeError, ValueError) as exc:
        raise FeatureError(audio.path, f"openSMILE failed: {exc}") from exc
    values = frame.to_numpy(dtype=np.float64)[0]
    if not np.all(np.isfinite(values)):
        bad = [feature for feature, value in zip(frame.columns, values) if not np.isfinite(value)]
        raise FeatureError(audio.path, f"openSMILE returned undefined values for {', '.join(bad[:10])}")
    return {f"{name}.{feature}": float(value) for feature, value in zip(frame.columns, values)}
