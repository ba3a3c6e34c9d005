from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.refine.conftest import make_frame, routes_of
from vietser.decision import ClipEvidence, Route
from vietser.errors import ConfigError, ManifestError
from vietser.refine.devset import DevSet


def test_from_frame_refuses_test_rows() -> None:
    dev_frame, dev_p, dev_e = make_frame(30, seed=1, split="dev")
    test_frame, test_p, test_e = make_frame(10, seed=2, split="test")
    frame = pd.concat([dev_frame, test_frame], ignore_index=True)
    probabilities = np.vstack([dev_p, test_p])
    with pytest.raises(ConfigError, match="only the dev split.*'test': 10"):
        DevSet.from_frame(frame, probabilities, dev_e + test_e, routes_of(probabilities))


def test_from_frame_keeps_dev_rows_speakers_and_votes() -> None:
    frame, probabilities, evidence = make_frame(12)
    frame["annotator_a"] = frame["label"]
    dev = DevSet.from_frame(frame, probabilities, evidence, routes_of(probabilities))
    assert len(dev) == 12
    assert dev.speakers is not None and dev.speakers[0] == "spk0"
    assert dev.votes is not None and list(dev.votes.columns) == ["annotator_a"]


def test_evidence_out_of_order_is_refused() -> None:
    frame, probabilities, evidence = make_frame(5)
    with pytest.raises(ConfigError, match="not aligned"):
        DevSet.from_frame(frame, probabilities, evidence[::-1], routes_of(probabilities))


def test_missing_split_column_is_refused() -> None:
    frame, probabilities, evidence = make_frame(5)
    with pytest.raises(ManifestError, match="split"):
        DevSet.from_frame(frame.drop(columns="split"), probabilities, evidence, routes_of(probabilities))


def test_column_reads_z_under_either_name_and_nan_when_missing() -> None:
    evidence = [
        ClipEvidence(clip_id="a", values={"prosody.hnr_db": 12.0}, z={"prosody.hnr_db": 1.0}),
        ClipEvidence(clip_id="b", values={}, z={"z.prosody.hnr_db": -2.0}),
        ClipEvidence(clip_id="c", values={}, z={}),
    ]
    dev = DevSet(
        clip_ids=("a", "b", "c"),
        evidence=tuple(evidence),
        probabilities=np.full((3, 3), 1 / 3),
        routes=(Route.DELEGATED,) * 3,
        labels=("calm", "angry", "panic"),
    )
    z = dev.column("prosody.hnr_db")
    assert z[:2].tolist() == [1.0, -2.0] and np.isnan(z[2])
    assert dev.column("prosody.hnr_db", "raw")[0] == 12.0
    assert dev.z_features == ("prosody.hnr_db",)
