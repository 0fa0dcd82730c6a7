import numpy as np
import pytest
import torch

import factorch


def test_stft_istft_round_trip_and_numpy_input():
    x = np.random.default_rng(0).standard_normal(4000)
    X = factorch.stft(x, n_fft=512, hop=128)
    assert X.is_complex() and X.shape[0] == 257
    y = factorch.istft(X, len(x), n_fft=512, hop=128)
    assert torch.allclose(y, torch.from_numpy(x), atol=1e-10)


def test_windows_and_dct():
    w = factorch.window("hann", 8)
    assert w.dtype == torch.float64 and w.shape == (8,)
    D = factorch.dct4_matrix(16)
    assert torch.allclose(D @ D.T, torch.eye(16, dtype=torch.float64), atol=1e-12)


def test_constant_q_grid():
    sr = 8000
    t = torch.arange(8000, dtype=torch.float64) / sr
    q = factorch.constant_q(torch.cos(2 * np.pi * 440 * t), sr, f_min=110.0, hop=256)
    b = int(torch.argmin((q.frequencies - 440).abs()))
    assert int(q.coefficients.abs().mean(1).argmax()) == b


def test_wiener_masks_sum_to_one():
    p = [torch.rand(5, 6, dtype=torch.float64) for _ in range(3)]
    masks = factorch.wiener_masks(p)
    assert torch.allclose(sum(masks), torch.ones(5, 6, dtype=torch.float64))


def test_bss_eval_sources_equals_mir_eval():
    mir_eval = pytest.importorskip("mir_eval")
    rng = np.random.default_rng(1)
    ref = rng.standard_normal((2, 3000))
    est = np.stack([ref[1] + 0.3 * ref[0] + 0.1 * rng.standard_normal(3000),
                    ref[0] + 0.2 * rng.standard_normal(3000)])
    sdr, sir, sar, perm = mir_eval.separation.bss_eval_sources(ref, est)
    r = factorch.bss_eval_sources(ref, est)
    np.testing.assert_allclose(r.sdr.numpy(), sdr, rtol=1e-6)
    np.testing.assert_allclose(r.sir.numpy(), sir, rtol=1e-6)
    np.testing.assert_allclose(r.sar.numpy(), sar, rtol=1e-6)
    assert r.permutation.tolist() == list(perm)


def test_bss_eval_images_equals_mir_eval():
    mir_eval = pytest.importorskip("mir_eval")
    rng = np.random.default_rng(2)
    ref = rng.standard_normal((2, 2000, 2))  # mir_eval: S × T × C
    est = ref + 0.2 * rng.standard_normal(ref.shape)
    sdr, isr, sir, sar, perm = mir_eval.separation.bss_eval_images(ref, est)
    r = factorch.bss_eval_images(torch.from_numpy(ref).permute(0, 2, 1), torch.from_numpy(est).permute(0, 2, 1))
    np.testing.assert_allclose(r.sdr.numpy(), sdr, rtol=1e-6)
    np.testing.assert_allclose(r.isr.numpy(), isr, rtol=1e-6)
    np.testing.assert_allclose(r.sir.numpy(), sir, rtol=1e-6)
    np.testing.assert_allclose(r.sar.numpy(), sar, rtol=1e-6)


def test_bss_eval_bad_input_is_one_line():
    with pytest.raises(ValueError) as e:
        factorch.bss_eval_sources(np.zeros((2, 100)), np.ones((2, 100)))
    assert "\n" not in str(e.value)
    with pytest.raises(ValueError):
        factorch.bss_eval_sources(np.ones((2, 100)), np.ones((3, 100)))


def test_wav_round_trip(tmp_path):
    x = torch.linspace(-0.5, 0.5, 1000, dtype=torch.float64)
    factorch.write_wav(tmp_path / "a.wav", x, 8000, format="float32")
    y, sr = factorch.read_wav(tmp_path / "a.wav")
    assert sr == 8000 and y.shape == (1, 1000)
    assert torch.allclose(y[0], x, atol=1e-7)
    with pytest.raises(ValueError, match="missing.wav"):
        factorch.read_wav(tmp_path / "missing.wav")


def test_checkpoint_round_trip(tmp_path):
    V = torch.rand(6, 7, dtype=torch.float64) + 0.1
    model = factorch.NMF(6, 7, 2)
    model.fit(V, max_iter=5)
    factorch.save_checkpoint(tmp_path / "c.pt", model)
    c = factorch.load_checkpoint(tmp_path / "c.pt")
    assert c["model_type"] == "nmf"
    assert torch.equal(c["factors"]["W"], model.W)
