"""Glue between the exercise notebooks and otter-grader.

Each exercise notebook (``exercises/NN_name.ipynb``, generated from ``solutions/``) starts with

    grader = grader_for("NN_name")

and checks each answer with ``grader.check("q1")``. The public tests ship inside this package
(``diffusion_edu/exercise_tests/NN_name/``), so the same line works locally and in Colab, where
the notebook has no folder of its own next to it.
"""
from __future__ import annotations

from importlib import resources


def tests_dir(exercise: str) -> str:
    """Path of the public tests of ``exercise`` (e.g. "01_forward_process") inside the package."""
    root = resources.files("diffusion_edu") / "exercise_tests"
    path = root / exercise
    if not path.is_dir():
        known = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        raise ValueError(f"unknown exercise {exercise!r}: expected one of {known}")
    return str(path)


def grader_for(exercise: str):
    """An ``otter.Notebook`` that checks answers against the public tests of ``exercise``."""
    try:
        import otter
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the exercises need otter-grader: pip install 'diffusion_edu[grading]' "
            "(in Colab, run the setup cell at the top of the notebook)"
        ) from e
    return otter.Notebook(tests_dir=tests_dir(exercise))
