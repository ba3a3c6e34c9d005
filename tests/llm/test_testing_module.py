"""The scripted server is a test double: the CLI and the library never load it."""

from __future__ import annotations

import subprocess
import sys


def test_the_cli_and_the_llm_layer_do_not_import_the_scripted_server() -> None:
    code = (
        "import sys, vietser.cli, vietser.llm.reasoner, vietser.llm.check, vietser.refine.llm_proposals\n"
        "print(sorted(m for m in sys.modules if m.startswith('vietser.testing')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
