"""Grade a folder of submitted exercise notebooks into a gradebook (grades.csv).

    python solutions/grade.py SUBMISSIONS/ [--out grades.csv] [--cell-timeout 60] [--timeout 600]

Each ``*.ipynb`` in the folder is one student's submission (the file name, without .ipynb, is
the student column). It is graded with the otter-grader autograder of its exercise (built by
``solutions/build.py`` into ``_build/autograder/``), in isolation: a copy in a fresh temporary
folder, in its own process. The submission itself is never modified.

A cell that runs longer than ``--cell-timeout`` seconds is interrupted and grading goes on with
the next cell, so an infinite loop in one answer costs only the questions that depend on it; a
submission that takes longer than ``--timeout`` seconds in all scores zero. Manually graded
questions get an empty column for the instructor to fill in.
"""
from __future__ import annotations

import argparse
import csv
import json
import pathlib
import shutil
import subprocess
import sys
import tempfile

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
AUTOGRADERS = ROOT / "_build" / "autograder"


def questions(exercise: str) -> list[tuple[str, float, bool]]:
    """(name, points, manual) of each question, read from the master notebook's question configs."""
    master = ROOT / "solutions" / f"{exercise}.ipynb"
    out = []
    for cell in json.loads(master.read_text())["cells"]:
        text = "".join(cell["source"])
        if cell["cell_type"] == "raw" and text.startswith("# BEGIN QUESTION"):
            config = yaml.safe_load(text.split("\n", 1)[1])
            out.append((config["name"], float(config.get("points", 1)), bool(config.get("manual", False))))
    return out


def exercise_of(submission: pathlib.Path) -> str | None:
    try:
        return json.loads(submission.read_text())["metadata"]["otter"]["assignment_name"]
    except (ValueError, KeyError, TypeError):
        return None


def grade_one(submission: pathlib.Path, exercise: str, cell_timeout: int, timeout: int) -> tuple[dict[str, float], str]:
    """Scores per autograded question, and a note ('' when all went well)."""
    autograder = AUTOGRADERS / f"{exercise}.zip"
    if not autograder.exists():
        sys.exit(f"no autograder for {exercise}: run `make exercises` first")
    with tempfile.TemporaryDirectory() as tmp:
        copy = pathlib.Path(tmp) / "submission.ipynb"
        shutil.copy(submission, copy)
        out = pathlib.Path(tmp) / "out"
        out.mkdir()
        cmd = [sys.executable, __file__, "--one", str(copy), "--autograder", str(autograder),
               "--out-dir", str(out), "--cell-timeout", str(cell_timeout)]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=tmp)
        except subprocess.TimeoutExpired:
            return {}, f"timed out after {timeout} s"
        results = out / "results.json"
        if not results.exists():
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            return {}, f"grading failed: {tail[0]}"
        tests = json.loads(results.read_text())["tests"]
        scores = {t["name"]: float(t["score"]) for t in tests if "score" in t}
        executed = json.loads(done.stdout.splitlines()[-1]) if done.stdout.strip() else {}
        return scores, "; ".join(executed.get("notes", []))


def run_one(submission: str, autograder: str, out_dir: str, cell_timeout: int) -> None:
    """Inside the grading process: run otter with a per-cell time limit that interrupts and goes on."""
    import nbconvert.preprocessors as preprocessors

    base = preprocessors.ExecutePreprocessor

    class LimitedExecute(base):
        """Each of the student's cells gets ``cell_timeout`` seconds; past that it is interrupted
        and the rest still runs. The last cell (otter's, which runs every test and writes the
        results; each test limits its own calls, see diffusion_edu.checks.limited) has no limit."""

        def preprocess(self, nb, resources=None, km=None):
            last = nb.cells[-1]
            self.timeout_func = lambda cell: None if cell is last else cell_timeout
            self.interrupt_on_timeout = True
            return super().preprocess(nb, resources, km)

    preprocessors.ExecutePreprocessor = LimitedExecute
    from otter.run import main as otter_run

    results = otter_run(submission, autograder=autograder, output_dir=out_dir, no_logo=True)
    notes = []
    for cell in getattr(results, "notebook", {"cells": []})["cells"]:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and output.get("ename") not in ("AssertionError",):
                notes.append(f"{output['ename']} in a cell")
    print(json.dumps({"notes": sorted(set(notes))}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("submissions", nargs="?", type=pathlib.Path, help="folder of submitted .ipynb files")
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("grades.csv"))
    parser.add_argument("--cell-timeout", type=int, default=60, help="seconds per cell before it is interrupted")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per submission before it scores zero")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--autograder", help=argparse.SUPPRESS)
    parser.add_argument("--out-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        run_one(args.one, args.autograder, args.out_dir, args.cell_timeout)
        return 0
    if args.submissions is None or not args.submissions.is_dir():
        parser.error("give the folder of submissions, e.g. make grade SUBMISSIONS=path/to/folder")
    submissions = sorted(args.submissions.glob("*.ipynb"))
    if not submissions:
        parser.error(f"no .ipynb files in {args.submissions}")

    rows, columns = [], {}
    for submission in submissions:
        exercise = exercise_of(submission)
        if exercise is None:
            rows.append({"student": submission.stem, "exercise": "?", "note": "not an exercise notebook (no otter metadata)"})
            continue
        qs = questions(exercise)
        for name, points, manual in qs:
            columns.setdefault(f"{name} (manual, /{points:g})" if manual else f"{name} (/{points:g})", (name, manual))
        scores, note = grade_one(submission, exercise, args.cell_timeout, args.timeout)
        row = {"student": submission.stem, "exercise": exercise, "note": note}
        for name, points, manual in qs:
            column = f"{name} (manual, /{points:g})" if manual else f"{name} (/{points:g})"
            row[column] = "" if manual else f"{scores.get(name, 0.0):g}"
        auto = [(n, p) for n, p, m in qs if not m]
        row["autograded total"] = f"{sum(scores.get(n, 0.0) for n, _ in auto):g}"
        row["autograded max"] = f"{sum(p for _, p in auto):g}"
        rows.append(row)
        print(f"{submission.name}: {row['autograded total']} / {row['autograded max']} {note}".rstrip())

    fields = ["student", "exercise", *columns, "autograded total", "autograded max", "note"]
    with open(args.out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, restval="")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {args.out} ({len(rows)} submissions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
