"""Upload type sniffing and naming."""

from __future__ import annotations

import io

import pytest
import soundfile as sf

from tests.conftest import make_voice_like
from vietser.review.uploads import display_name, sniff_format


@pytest.mark.parametrize("fmt, expected", [("WAV", "WAV"), ("FLAC", "FLAC"), ("OGG", "Ogg"), ("MP3", "MP3")])
def test_encoded_audio_is_recognised_by_its_first_bytes(fmt: str, expected: str) -> None:
    buffer = io.BytesIO()
    sf.write(buffer, make_voice_like(duration_s=0.5), 16_000, format=fmt)
    assert sniff_format(buffer.getvalue()[:12]) == expected


@pytest.mark.parametrize(
    "head", [b"\x89PNG\r\n\x1a\n\x00\x00\x00\r", b"%PDF-1.7\n%\xe2\xe3", b"RIFF\x00\x00\x00\x00AVI ", b""]
)
def test_other_content_is_not_audio(head: bytes) -> None:
    assert sniff_format(head) is None


@pytest.mark.parametrize(
    "given, expected", [("../../etc/call.wav", "call.wav"), ("C:\\calls\\a.flac", "a.flac"), (None, "upload")]
)
def test_display_name_drops_any_folders(given: str | None, expected: str) -> None:
    assert display_name(given) == expected
