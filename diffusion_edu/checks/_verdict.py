"""What every check does with a result: type, shape, finiteness, then value, then known mistakes."""
from __future__ import annotations

import torch
from torch import Tensor


def as_tensor(value, what: str) -> Tensor:
    """The student's result as a float64 tensor, or an AssertionError saying what came back."""
    if value is None or value is Ellipsis:
        raise AssertionError(f"{what} returned {value!r}: replace the `...` with your code and `return` the result")
    if not isinstance(value, Tensor):
        raise AssertionError(f"{what} should return a torch.Tensor, got {type(value).__name__}")
    if not value.dtype.is_floating_point:
        raise AssertionError(f"{what} should return floating-point values, got dtype {value.dtype}")
    return value.detach().double()


def verdict(
    value,
    expected: Tensor,
    what: str,
    hint: str,
    mistakes: dict[str, Tensor] | None = None,
    rtol: float = 1e-4,
    atol: float = 1e-6,
) -> None:
    """Raise an AssertionError unless ``value`` matches ``expected`` (both compared in float64)."""
    got = as_tensor(value, what)
    expected = expected.double()
    if got.shape != expected.shape:
        raise AssertionError(f"{what} has shape {tuple(got.shape)}, expected {tuple(expected.shape)}. Hint: {hint}")
    if not torch.isfinite(got).all():
        raise AssertionError(f"{what} contains NaN or infinite values. Hint: {hint}")
    if torch.allclose(got, expected, rtol=rtol, atol=atol):
        return
    for message, wrong in (mistakes or {}).items():
        if wrong.shape == got.shape and torch.allclose(got, wrong.double(), rtol=rtol, atol=atol):
            raise AssertionError(f"{what} is not right: {message}")
    worst = (got - expected).abs().max().item()
    raise AssertionError(f"{what} is off (largest error {worst:.3g}). Hint: {hint}")


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def limited(fn, seconds: float = 20.0):
    """``fn`` wrapped so that a call running longer than ``seconds`` raises an AssertionError.

    An infinite loop in an answer then fails its check with a message, instead of hanging the
    notebook (and the instructor's grading run). Needs SIGALRM (Linux, macOS, Colab); elsewhere
    ``fn`` is returned unchanged.
    """
    import functools
    import signal
    import threading

    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        return fn
    name = getattr(fn, "__name__", "your function")

    def on_alarm(signum, frame):
        raise AssertionError(f"{name} ran for more than {seconds:g} s: is there an infinite loop?")

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            return fn(*args, **kwargs)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    return wrapper
