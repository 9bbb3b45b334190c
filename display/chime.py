"""The board's chime, synthesised here: two soft bell tones (E5 then C5), no sound file copied."""

from __future__ import annotations

import io
import math
import struct
import wave
from functools import lru_cache

RATE = 22050


def _bell(frequency: float, seconds: float, start: float, total: float) -> list[float]:
    samples = [0.0] * int(total * RATE)
    first = int(start * RATE)
    for i in range(int(seconds * RATE)):
        t = i / RATE
        envelope = math.exp(-3.2 * t) * min(1.0, t / 0.008)  # quick attack, long decay
        tone = (math.sin(2 * math.pi * frequency * t)
                + 0.35 * math.sin(2 * math.pi * 2 * frequency * t) * math.exp(-2 * t)
                + 0.12 * math.sin(2 * math.pi * 3.01 * frequency * t) * math.exp(-4 * t))
        if first + i < len(samples):
            samples[first + i] += envelope * tone
    return samples


@lru_cache(maxsize=1)
def _pcm() -> bytes:
    """The chime as 16-bit mono samples at RATE."""
    total = 2.2
    high = _bell(659.25, 1.6, 0.0, total)   # E5
    low = _bell(523.25, 1.8, 0.45, total)   # C5
    mixed = [h + lo for h, lo in zip(high, low, strict=True)]
    peak = max(abs(s) for s in mixed) or 1.0
    return b"".join(struct.pack("<h", int(0.6 * 32767 * s / peak)) for s in mixed)


@lru_cache(maxsize=1)
def chime_mp3() -> bytes:
    """What the board plays: the chime as a 64 kbit/s MP3 (about a fifth of the WAV, for a board on a
    slow clinic Wi-Fi), encoded here with LAME."""
    import lameenc

    encoder = lameenc.Encoder()
    encoder.set_bit_rate(64)
    encoder.set_in_sample_rate(RATE)
    encoder.set_channels(1)
    encoder.set_quality(2)
    return bytes(encoder.encode(_pcm()) + encoder.flush())


@lru_cache(maxsize=1)
def chime_wav() -> bytes:
    frames = _pcm()
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(frames)
    return buffer.getvalue()
