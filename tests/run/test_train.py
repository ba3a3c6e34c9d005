"""Training a run: one hyperparameter search on the train split, reused by the refit and the rule fit."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import small_run_config
from vietser.acoustic import search as acoustic_search
from vietser.acoustic.records import CVResult
from vietser.run.dir import RunDir
from vietser.run.train import train_run


def test_a_run_searches_the_hyperparameters_once_per_model_and_its_refit_reuses_them(
    small_demo_features: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    searches = []
    search = acoustic_search.search_hyperparameters

    def counted(*args: object, **kwargs: object) -> CVResult:
        searches.append(args)
        return search(*args, **kwargs)

    monkeypatch.setattr(acoustic_search, "search_hyperparameters", counted)

    model = train_run(small_demo_features, small_run_config(acoustic__late_fusion=[]), tmp_path / "run")

    # once for the speaker model and once for its companion for single clips; not again for the
    # train + dev refit or the rule fit's fold models
    assert len(searches) == 2
    assert model.baseline_free_ is not None and model.cv_.baseline_free == model.baseline_free_.cv_
    run = RunDir(tmp_path / "run")
    assert run.final_model != run
    assert run.final_model.read_model().cv_ == model.cv_
