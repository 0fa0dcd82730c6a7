#!/usr/bin/python3
"""Real-ish harmonic audio for the iN-NMF resolution-transfer experiments, 16 kHz mono WAV:

  speech.wav  synthesised speech (espeak-ng, six sentences in two voices, 27 s, resampled
              22.05 -> 16 kHz by FFT)
  piano.wav   a sampled piano (fluidsynth + the FluidR3 General MIDI soundfont) playing a
              4 s phrase with chords, repeated in other keys, rendered at 16 kHz

usage: tools/make_innmf_audio.py OUT_DIR [--seconds S]   (default 27 s; --seconds 4 writes the
4 s clips of earlier versions, byte for byte)
Needs the Debian packages espeak-ng, fluidsynth, fluid-soundfont-gm and python3-numpy.
"""
import argparse
import os
import struct
import subprocess
import tempfile
import wave

import numpy as np

RATE = 16000


def read_wav(path):
    with wave.open(path) as w:
        rate, n, ch, width = w.getframerate(), w.getnframes(), w.getnchannels(), w.getsampwidth()
        raw = w.readframes(n)
    assert width == 2, f"{path}: expected 16-bit PCM"
    x = np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0
    return x.reshape(-1, ch).mean(1), rate


def write_wav(path, x):
    x = np.clip(x / max(1e-9, np.abs(x).max()) * 0.9, -1, 1)
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes((x * 32767).astype("<i2").tobytes())


def resample(x, rate):
    """Band-limited resampling by zero-padding / truncating the spectrum."""
    if rate == RATE:
        return x
    n_out = int(round(len(x) * RATE / rate))
    X = np.fft.rfft(x)
    Y = np.zeros(n_out // 2 + 1, dtype=complex)
    m = min(len(X), len(Y))
    Y[:m] = X[:m]
    return np.fft.irfft(Y, n_out) * n_out / len(x)


def speech(tmp, seconds):
    parts = []
    sentences = [("en-us", 140, "The quick brown fox jumps over the lazy dog, while we were away."),
                 ("en+f3", 130, "Open the window and listen to the music of the evening rain."),
                 ("en-us", 150, "A large size in stockings is hard to sell, but the price was right."),
                 ("en+f3", 140, "She had your dark suit in greasy wash water all year long."),
                 ("en-us", 135, "Don't ask me to carry an oily rag like that across the garden."),
                 ("en+f3", 145, "The birch canoe slid on the smooth planks of the old wooden pier.")]
    for voice, speed, text in sentences:
        path = os.path.join(tmp, f"{len(parts)}.wav")
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", path, text], check=True)
        x, rate = read_wav(path)
        parts.append(resample(x, rate))
    x = np.concatenate(parts)  # 27 s of speech in all
    return x[: int(seconds * RATE)]


def midi_file(path, notes):
    """A type-0 MIDI file: notes = [(start_beat, length_beats, pitch, velocity)], 480 ticks/beat."""
    events = []
    for start, length, pitch, vel in notes:
        events.append((int(start * 480), 0x90, pitch, vel))
        events.append((int((start + length) * 480), 0x80, pitch, 0))
    events.sort()

    def varlen(v):
        out = [v & 0x7F]
        v >>= 7
        while v:
            out.insert(0, 0x80 | (v & 0x7F))
            v >>= 7
        return bytes(out)

    track, now = b"\x00\xc0\x00", 0  # program 0: acoustic grand piano
    track += b"\x00\xff\x51\x03" + (500000).to_bytes(3, "big")  # 120 bpm
    for tick, status, pitch, vel in events:
        track += varlen(tick - now) + bytes([status, pitch, vel])
        now = tick
    track += b"\x00\xff\x2f\x00"
    with open(path, "wb") as f:
        f.write(b"MThd" + struct.pack(">IHHH", 6, 0, 1, 480))
        f.write(b"MTrk" + struct.pack(">I", len(track)) + track)


def piano(tmp, seconds):
    # C major phrase of 4 s (8 beats): single notes, then two chords (notes overlap, as in
    # music); longer renderings repeat it in other keys.
    melody = [60, 64, 67, 72, 71, 67, 65, 62]
    notes = []
    for rep, shift in zip(range(int(np.ceil(seconds / 4.0))), [0, 5, -3, 7, 2, -5, 4, -2] * 8):
        beat = 8.0 * rep
        notes += [(beat + 0.5 * i, 0.6, p + shift, 90) for i, p in enumerate(melody)]
        notes += [(beat + 4.0, 1.8, p + shift, 80) for p in (48, 60, 64, 67)]
        notes += [(beat + 6.0, 1.8, p + shift, 80) for p in (43, 59, 62, 67)]
    mid = os.path.join(tmp, "phrase.mid")
    midi_file(mid, notes)
    out = os.path.join(tmp, "piano_raw.wav")
    sf2 = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
    subprocess.run(["fluidsynth", "-ni", "-q", "-g", "1.0", "-r", str(RATE), "-F", out, sf2, mid], check=True,
                   stdout=subprocess.DEVNULL)
    x, rate = read_wav(out)
    return resample(x, rate)[: int(seconds * RATE)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--seconds", type=float, default=27.0)
    a = ap.parse_args()
    os.makedirs(a.out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        write_wav(os.path.join(a.out_dir, "speech.wav"), speech(tmp, a.seconds))
        write_wav(os.path.join(a.out_dir, "piano.wav"), piano(tmp, a.seconds))
    print(f"wrote speech.wav and piano.wav ({a.seconds:g} s, {RATE} Hz) to {a.out_dir}")


if __name__ == "__main__":
    main()
