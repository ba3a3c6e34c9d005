"""eGeMAPS v02 functionals (88 values per clip) computed with openSMILE."""

from __future__ import annotations

from functools import cache

import numpy as np
import opensmile
from opensmile.core.lib import OpenSmileException

from vietser.data.audio import Audio
from vietser.errors import FeatureError

PREFIX = "egemaps."


@cache
def _smile() -> opensmile.Smile:
    # Building the openSMILE configuration costs more than analysing a short
    # clip, so each process builds it once.
    return opensmile.Smile(
        feature_set=opensmile.FeatureSet.eGeMAPSv02,
        feature_level=opensmile.FeatureLevel.Functionals,
    )


def egemaps_columns() -> tuple[str, ...]:
    """The 88 ``egemaps.<openSMILE name>`` columns, in openSMILE's order."""
    return tuple(PREFIX + name for name in _smile().feature_names)


def extract_egemaps(audio: Audio) -> dict[str, float]:
    """Compute the eGeMAPSv02 functionals of one clip, keyed ``egemaps.<openSMILE name>``.

    Raises:
        FeatureError: openSMILE failed or returned non-finite values.
    """
    smile = _smile()
    try:
        frame = smile.process_signal(audio.samples, audio.sample_rate)
    except (OpenSmileException, RuntimeError, ValueError) as exc:
        raise FeatureError(audio.path, f"openSMILE failed: {exc}") from exc
    values = frame.to_numpy(dtype=np.float64)[0]
    if not np.all(np.isfinite(values)):
        bad = [name for name, value in zip(frame.columns, values) if not np.isfinite(value)]
        raise FeatureError(audio.path, f"openSMILE returned undefined values for {', '.join(bad)}")
    return {PREFIX + name: float(value) for name, value in zip(frame.columns, values)}
