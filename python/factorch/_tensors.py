"""Inputs as tensors: numpy arrays and array-likes are accepted wherever a tensor is."""
import numpy as np
import torch


def as_tensor(x, name="input", dtype=None, device=None):
    """``x`` as a torch.Tensor without a copy when possible (numpy arrays share memory).

    Read-only numpy arrays are copied (torch cannot wrap them); anything that is not numeric
    raises TypeError naming ``name``.
    """
    if isinstance(x, torch.Tensor):
        t = x
    elif isinstance(x, np.ndarray):
        if x.dtype.kind not in "fiub":
            raise TypeError(f"{name} must be a numeric array, got dtype {x.dtype}")
        if not x.flags.writeable:
            x = x.copy()
        t = torch.from_numpy(x)
    else:
        try:
            arr = np.asarray(x)
        except Exception as e:  # noqa: BLE001  (whatever numpy says, the user gets one line)
            raise TypeError(f"{name} must be a tensor or an array, got {type(x).__name__}") from e
        if arr.dtype.kind not in "fiub":
            raise TypeError(f"{name} must be a tensor or an array, got {type(x).__name__}")
        t = torch.from_numpy(np.ascontiguousarray(arr))
    if dtype is not None or device is not None:
        t = t.to(dtype=dtype or t.dtype, device=device or t.device)
    return t


def matching(x, like, name):
    """``x`` as a floating tensor with the dtype and device of ``like`` (a parameter).

    Integer input is converted; a different floating dtype or device is an error (an
    implicit copy of the data would hide a slow path).
    """
    t = as_tensor(x, name)
    if not t.is_floating_point():
        t = t.to(like.dtype)
    if t.dtype != like.dtype:
        raise TypeError(f"{name} is {str(t.dtype).replace('torch.', '')} but the model is "
                        f"{str(like.dtype).replace('torch.', '')} (convert one: model.to(dtype) or {name}.to(dtype))")
    if t.device != like.device:
        raise ValueError(f"{name} is on {t.device} but the model is on {like.device}")
    return t
