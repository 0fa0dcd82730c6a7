#!/usr/bin/python3
"""iN-NMF's resolution transfer scored on audio neither model saw (held-out time blocks).

transfer.csv compares, at each DFT size, the KL of iN-NMF's W (H fitted) with that of rank-K NMF
re-trained at that size on the same frames. On a short clip that NMF memorises the frames
(tools/nmf_memorisation.py: 20 components for 47 frames), so the table scores the baseline's
memorising more than the transfer. Here both dictionaries are learnt on the same audio and
scored on other audio of the same recording:
  1. the clip is cut into blocks of --block seconds; the even blocks are joined into
     OUT/train.wav, the odd ones into OUT/held.wav (10 ms fades at every joint, no clicks;
     --swap trains on the odd blocks and scores the even ones: a second, independent split);
  2. `factorch train CONFIG --set data.input=OUT/train.wav` learns iN-NMF on train.wav and exports
     W at each size of model.transfer_n_fft (OUT/run/dictionary/W_nfft<N>.npy); its own
     transfer.csv is the usual protocol on train.wav;
  3. at each size, rank-K KL-NMF (report_iter MU sweeps, seeded random start) learns W on
     train.wav; then for both dictionaries H alone is fitted on held.wav (report_iter sweeps)
     and the KL per element there is printed, with their ratio.
The STFT is the config's (sine window, hop N/2, |STFT|^exponent), as tools/nmf_memorisation.py.
Needs python3-torch, python3-numpy and python3-yaml (Debian).

usage: tools/innmf_heldout.py CLIP.wav OUT [--factorch build/factorch] [--config configs/innmf_speech.yaml]
                              [--block 0.5] [--swap] [--set key=value ...]
"""
import argparse, os, subprocess, sys, wave

import numpy as np
import torch
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kl_nmf import kl, mu, read_wav, spec  # noqa: E402

torch.set_num_threads(1)


def write_wav(path, x, rate):
    tmp = path + '.tmp'
    with wave.open(tmp, 'wb') as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(rate)
        w.writeframes((np.clip(x, -1, 1) * 32767).round().astype('<i2').tobytes())
    os.replace(tmp, path)


def split(x, rate, block):
    """Even blocks → train, odd blocks → held, each block faded in and out over 10 ms."""
    n = int(round(block * rate))
    fade = min(int(0.01 * rate), n // 4)
    ramp = np.sin(0.5 * np.pi * (np.arange(fade) + 0.5) / fade) ** 2
    parts = ([], [])
    for i, start in enumerate(range(0, len(x), n)):
        b = x[start:start + n].copy()
        if len(b) < 2 * fade:
            continue
        b[:fade] *= ramp
        b[-fade:] *= ramp[::-1]
        parts[i % 2].append(b)
    return np.concatenate(parts[0]), np.concatenate(parts[1])


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('clip'), p.add_argument('out')
    p.add_argument('--factorch', default='build/factorch')
    p.add_argument('--config', default='configs/innmf_speech.yaml')
    p.add_argument('--block', type=float, default=0.5, help='block length in seconds (default 0.5)')
    p.add_argument('--swap', action='store_true', help='train on the odd blocks, score the even ones')
    p.add_argument('--set', action='append', default=[], help='extra factorch --set key=value')
    a = p.parse_args()
    with open(a.config) as f:
        cfg = yaml.safe_load(f)
    sizes = cfg['model']['transfer_n_fft']
    rank, iterations = cfg['model']['rank'], cfg['model'].get('report_iter', 500)
    exponent = cfg['data']['transform'].get('exponent', 1.0)
    for s in a.set:  # the overrides that change the evaluation too
        key, _, value = s.partition('=')
        if key == 'model.transfer_n_fft':
            sizes = yaml.safe_load(value)
        elif key == 'model.rank':
            rank = int(value)
        elif key == 'model.report_iter':
            iterations = int(value)
        elif key == 'data.transform.exponent':
            exponent = float(value)
    x, rate = read_wav(a.clip)
    os.makedirs(a.out, exist_ok=True)
    train, held = split(x, rate, a.block)
    if a.swap:
        train, held = held, train
    train_wav, held_wav = os.path.join(a.out, 'train.wav'), os.path.join(a.out, 'held.wav')
    write_wav(train_wav, train, rate)
    write_wav(held_wav, held, rate)
    print(f"{a.clip}: {len(x) / rate:.2f} s at {rate} Hz; {a.block} s blocks: train.wav {len(train) / rate:.2f} s, "
          f"held.wav {len(held) / rate:.2f} s", flush=True)
    run = os.path.join(a.out, 'run')
    cmd = [a.factorch, 'train', a.config, '--set', f'data.input={train_wav}', '--set',
           'model.export_n_fft=[' + ','.join(str(n) for n in sizes) + ']', '--out', run]
    for s in a.set:
        cmd += ['--set', s]
    env = dict(os.environ, OPENBLAS_NUM_THREADS='1')
    with open(os.path.join(a.out, 'train.log'), 'w') as log:
        if subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT, env=env) != 0:
            sys.exit(f"factorch train failed: see {os.path.join(a.out, 'train.log')}")
    xt, xh = read_wav(train_wav)[0], read_wav(held_wav)[0]
    print("KL per element on held.wav (H fitted there, W learnt on train.wav); "
          "train: the same on train.wav (factorch's transfer.csv protocol)")
    print(f"  {'n_fft':>6} {'frames':>7} {'iN-NMF':>9} {'NMF':>9} {'ratio':>7}   {'train':>7}")
    rows = []
    for n in sizes:
        Vt, Vh = spec(xt, n, exponent), spec(xh, n, exponent)
        W_nmf, H_nmf = mu(Vt, rank, iterations)
        W_in = torch.tensor(np.load(os.path.join(run, 'dictionary', f'W_nfft{n}.npy')), dtype=torch.float64)
        _, Hi_t = mu(Vt, rank, iterations, W=W_in)
        _, Hn_h = mu(Vh, rank, iterations, W=W_nmf)
        _, Hi_h = mu(Vh, rank, iterations, W=W_in)
        held_in, held_nmf = kl(Vh, W_in @ Hi_h), kl(Vh, W_nmf @ Hn_h)
        train_ratio = kl(Vt, W_in @ Hi_t) / kl(Vt, W_nmf @ H_nmf)
        rows.append((n, Vh.shape[1], held_in, held_nmf, held_in / held_nmf, train_ratio))
        print(f"  {n:>6} {Vh.shape[1]:>7} {held_in:>9.5f} {held_nmf:>9.5f} {held_in / held_nmf:>7.4f}   {train_ratio:>7.4f}",
              flush=True)
    tmp = os.path.join(a.out, 'heldout.csv.tmp')
    with open(tmp, 'w') as f:
        f.write('n_fft,frames_held,kl_innmf_held,kl_nmf_held,ratio_held,ratio_train\n')
        for r in rows:
            f.write('%d,%d,%.8g,%.8g,%.6f,%.6f\n' % r)
    os.replace(tmp, os.path.join(a.out, 'heldout.csv'))


if __name__ == '__main__':
    main()
