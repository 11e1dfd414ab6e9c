"""Audio analysis shared by the Python peers: dominant frequency and RMS level.

Samples are floats in [-1, 1] (convert s16 with `s16_to_float`).
"""

from __future__ import annotations

import numpy as np


def s16_to_float(samples: np.ndarray) -> np.ndarray:
    """Convert signed 16-bit PCM to float64 in [-1, 1)."""
    return np.asarray(samples, dtype=np.float64) / 32768.0


def rms_level(samples: np.ndarray) -> float:
    """Root-mean-square level of float samples (a full-scale sine gives ~0.707)."""
    x = np.asarray(samples, dtype=np.float64)
    if x.size == 0:
        return 0.0
    return float(np.sqrt(np.mean(x * x)))


def dominant_frequency(samples: np.ndarray, sample_rate: int) -> float:
    """Frequency in Hz of the strongest spectral peak (0.0 for empty or silent input).

    Hann window, real FFT, then parabolic interpolation on the log magnitude of
    the peak bin and its neighbours for sub-bin accuracy. The DC bin is ignored.
    """
    x = np.asarray(samples, dtype=np.float64)
    if x.size < 16:
        return 0.0
    x = x - np.mean(x)
    if not np.any(x):
        return 0.0
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    spectrum[0] = 0.0
    k = int(np.argmax(spectrum))
    if spectrum[k] <= 0.0:
        return 0.0
    offset = 0.0
    if 0 < k < spectrum.size - 1:
        a, b, c = (np.log(max(v, 1e-300)) for v in spectrum[k - 1 : k + 2])
        denom = a - 2.0 * b + c
        if denom != 0.0:
            offset = 0.5 * (a - c) / denom
    return float((k + offset) * sample_rate / x.size)


def analyse(samples: np.ndarray, sample_rate: int, skip_seconds: float = 0.5) -> dict:
    """Frequency and level of a received stream, skipping the start (jitter buffer fill, codec warm-up)."""
    x = np.asarray(samples, dtype=np.float64)
    skip = int(skip_seconds * sample_rate)
    if x.size > 2 * skip:
        x = x[skip:]
    return {"frequency": dominant_frequency(x, sample_rate), "level": rms_level(x)}
