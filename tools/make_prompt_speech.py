#!/usr/bin/python3
"""Recorded human speech for the iN-NMF transfer experiments, from Debian packages only.

Concatenates the recorded prompts of one speaker (Debian's asterisk-core-sounds-*-wav:
Allison Smith in en_US, June Wallack in fr_CA, Carlo in it_IT (male), a Russian voice in
ru_RU; 8 kHz mono, CC-BY-SA-3.0) in name order, each trimmed of its leading and trailing
silence (frames 40 dB below the file's peak) and followed by 0.1 s of silence, up to
--seconds, and writes OUT_DIR/<voice>.wav (8 kHz, 16-bit).

usage: tools/make_prompt_speech.py OUT_DIR [--seconds S] [--voices en_US_f_Allison ...]
       [--root /usr/share/asterisk/sounds]
Install the voices with `apt-get install asterisk-core-sounds-en-wav asterisk-core-sounds-fr-wav
asterisk-core-sounds-it-wav asterisk-core-sounds-ru-wav`, or unpack their .debs with
`apt-get download` + `dpkg -x` and pass --root.
"""
import argparse
import pathlib
import sys
import wave

import numpy as np

VOICES = ["en_US_f_Allison", "fr_CA_f_June", "it_IT_m_Carlo", "ru_RU_f_IvrvoiceRU"]


def read(path):
    with wave.open(str(path)) as w:
        if w.getnchannels() != 1 or w.getsampwidth() != 2:
            return None, 0
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768.0
        return x, w.getframerate()


def trimmed(x, rate):
    frame = max(1, rate // 100)  # 10 ms
    n = len(x) // frame
    if n == 0:
        return x[:0]
    energy = (x[: n * frame].reshape(n, frame) ** 2).mean(1)
    loud = np.nonzero(energy > energy.max() * 1e-4)[0]  # within 40 dB of the loudest frame
    return x[loud[0] * frame : (loud[-1] + 1) * frame] if len(loud) else x[:0]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out_dir")
    p.add_argument("--seconds", type=float, default=11.4)
    p.add_argument("--voices", nargs="+", default=VOICES)
    p.add_argument("--root", default="/usr/share/asterisk/sounds")
    a = p.parse_args()
    out = pathlib.Path(a.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for voice in a.voices:
        files = sorted((pathlib.Path(a.root) / voice).glob("*.wav"))
        if not files:
            sys.exit(f"{a.root}/{voice}: no WAV prompts (install asterisk-core-sounds-*-wav or pass --root)")
        parts, rate, total = [], None, 0
        for f in files:
            x, r = read(f)
            if x is None or (rate is not None and r != rate):
                continue
            rate = r
            x = trimmed(x, r)
            if len(x) < r // 2:  # shorter than 0.5 s: a syllable, not a phrase
                continue
            parts += [x, np.zeros(r // 10)]
            total += len(x) + r // 10
            if total >= a.seconds * r:
                break
        y = np.concatenate(parts)[: int(round(a.seconds * rate))]
        pcm = np.clip(np.round(y * 32767.0), -32768, 32767).astype("<i2")
        with wave.open(str(out / f"{voice}.wav"), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(pcm.tobytes())
        print(f"{out / (voice + '.wav')}: {len(y) / rate:.1f} s at {rate} Hz")


if __name__ == "__main__":
    main()
