"""Checks for the graded exercises: each compares a student's function with the library's own.

A check calls the student's function on several seeded random inputs and edge cases, compares
the result with the reference implementation in :mod:`diffusion_edu`, and raises an
``AssertionError`` whose message says what is wrong *in terms of the math*, with a hint, and
never the answer. When the result matches a known mistake (a missing square root, an index off
by one, beta where the posterior variance belongs), the message names that mistake.

The exercise notebooks call these from their otter-grader tests (``grader.check("q1")``).
"""
from . import forward_process, guidance, reverse_process, sampling, sound, text_to_image, training, unet
from ._verdict import limited

__all__ = ["forward_process", "guidance", "limited", "reverse_process", "sampling", "sound", "text_to_image", "training", "unet"]
