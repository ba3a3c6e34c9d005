"""Importing a stage loads only what that stage needs: no web app, LLM SDK, plotting or statistics stack."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

WEB_LLM_PLOTS_STATS = ("fastapi", "uvicorn", "openai", "matplotlib", "statsmodels")
REPORT_MODULES = ("vietser.evaluate.report", "vietser.evaluate.plots", "vietser.review.app")


def loaded_after_import(module: str) -> set[str]:
    """The top-level packages and vietser modules in sys.modules after a fresh interpreter imports ``module``."""
    code = (
        "import importlib, json, sys; "
        f"importlib.import_module({module!r}); "
        "print(json.dumps(sorted(sys.modules)))"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    names = json.loads(output)
    return {name for name in names if name.startswith("vietser.")} | {name.split(".")[0] for name in names}


@pytest.mark.parametrize(
    "module",
    ["vietser.features.extract", "vietser.routing", "vietser.pipeline", "vietser.run.dir", "vietser.run.predict", "vietser.cli"],
)
def test_stage_import_loads_no_web_llm_plotting_or_statistics_package(module: str) -> None:
    loaded = loaded_after_import(module)
    assert not loaded & {*WEB_LLM_PLOTS_STATS, *REPORT_MODULES}


def test_the_command_line_loads_no_stage_package_until_a_command_runs() -> None:
    # `vietser --help` and every command's start pay for what importing vietser.cli loads; the
    # commands import their stages when they run.
    loaded = loaded_after_import("vietser.cli")
    assert not loaded & {"sklearn", "skops", "scipy", "pandas", "pyarrow", "opensmile", "parselmouth", "joblib"}
    assert not {name for name in loaded if name.startswith(("vietser.run.", "vietser.features.", "vietser.acoustic."))}


@pytest.mark.parametrize("package", ["vietser.acoustic", "vietser.evaluate", "vietser.refine", "vietser.review"])
def test_package_import_loads_none_of_its_modules_until_a_name_is_used(package: str) -> None:
    loaded = loaded_after_import(package)
    assert not {name for name in loaded if name.startswith(package + ".")}
    assert not loaded & {*WEB_LLM_PLOTS_STATS, "sklearn", "opensmile"}


def test_a_lazily_exported_name_is_the_module_attribute_itself() -> None:
    from vietser.acoustic import load_model
    from vietser.acoustic.persist import load_model as defined

    assert load_model is defined


def test_an_unknown_name_is_an_attribute_error_naming_the_package() -> None:
    import vietser.acoustic

    with pytest.raises(AttributeError, match="'vietser.acoustic' has no attribute 'no_such_name'"):
        vietser.acoustic.no_such_name  # noqa: B018


def test_deciding_a_file_with_a_trained_run_loads_no_scikit_learn(trained_run: Path, small_demo: Path) -> None:
    # `vietser predict ONE.wav` pays for every import: scikit-learn and skops (about a second) and
    # scipy.signal (half a second) stay out; the run's models were compiled to arrays when saved.
    wav = next(small_demo.parent.rglob("*.wav"))
    code = (
        "import json, sys; from pathlib import Path; from vietser.run.predict import load_predictor; "
        f"decision = load_predictor(Path({str(trained_run)!r}))(Path({str(wav)!r})); "
        "print(json.dumps([decision.label, sorted(sys.modules)]))"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    label, modules = json.loads(output.splitlines()[-1])
    assert label in ("calm", "angry", "panic")
    assert not {name for name in modules if name.split(".")[0] in ("sklearn", "skops")}
    assert "scipy.signal" not in modules and "scipy.stats" not in modules
