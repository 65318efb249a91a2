"""The graded exercises: generated from their masters, checks that teach, and batch grading.

Executing every master (all its tests pass) and every student notebook (runs, reports failing
checks) is nbval's part of `make test`; here: staleness, the checks' verdicts on common
mistakes, and a gradebook for a folder of correct, blank, crashing and looping submissions.
"""
import csv
import hashlib
import json
import math
import pathlib
import subprocess
import sys

import pytest
import torch
import yaml

from diffusion_edu import schedules
from diffusion_edu.checks import forward_process as F
from diffusion_edu.checks import reverse_process as R

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from exercise_notebooks import answer_cells, filled_in  # noqa: E402
from conftest import assert_check_accepts_right_and_names_wrong

ROOT = pathlib.Path(__file__).resolve().parents[1]
MASTERS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture(scope="module")
def built():
    """Regenerate into a temporary folder and compare; also (re)builds the autograder zips."""
    done = subprocess.run([sys.executable, "solutions/build.py", "--check"], cwd=ROOT, capture_output=True, text=True)
    return done


def test_every_chapter_has_an_exercise():
    assert [m.name for m in MASTERS] == [c.name for c in CHAPTERS], "each chapter needs solutions/<chapter>.ipynb"


def test_committed_exercises_are_up_to_date_with_their_masters(built):
    assert built.returncode == 0, f"exercises are stale (run `make exercises`):\n{built.stdout}{built.stderr}"


def question_configs(master):
    out = []
    for cell in json.loads(master.read_text())["cells"]:
        text = "".join(cell["source"])
        if cell["cell_type"] == "raw" and text.startswith("# BEGIN QUESTION"):
            out.append(yaml.safe_load(text.split("\n", 1)[1]))
    return out


@pytest.mark.parametrize("master", MASTERS, ids=lambda p: p.name)
def test_each_exercise_has_three_graded_questions_of_rising_points_and_a_written_one(master):
    qs = question_configs(master)
    graded = [q["points"] for q in qs if not q.get("manual")]
    assert len(graded) >= 3, f"{master.name}: at least 3 autograded questions"
    assert graded == sorted(graded), f"{master.name}: points should rise with difficulty, got {graded}"
    assert any(q.get("manual") for q in qs), f"{master.name}: needs a manually graded written question"


@pytest.mark.parametrize("master", MASTERS, ids=lambda p: p.name)
def test_student_notebook_hides_the_solutions_and_checks_every_graded_question(master):
    student = ROOT / "exercises" / master.name
    text = student.read_text()
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    nb = json.loads(text)
    checks = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code" and "grader.check(" in "".join(c["source"])]
    graded = [q["name"] for q in question_configs(master) if not q.get("manual")]
    assert checks == [f'grader.check("{q}")' for q in graded]
    assert len(answer_cells(nb)) == len(graded)


# ------------------------------------------------------------------ checks that teach
def _alpha_bar(beta):
    return torch.cumprod(1 - beta, 0)


def _cosine(T, s=0.008, max_beta=0.999):
    return schedules.cosine_schedule(T, s, max_beta).beta


def _q_sample(x0, t, ab, eps, index_shift=0, sqrt=True):
    a = ab[t - index_shift].reshape(-1, *([1] * (x0.ndim - 1)))
    return a.sqrt() * x0 + (1 - a).sqrt() * eps if sqrt else a * x0 + (1 - a) * eps


def _posterior(x0, xt, t, beta, ab, variance="posterior", wrap=False):
    abp = ab[t - 1] if (t > 0 or wrap) else torch.ones((), dtype=ab.dtype)
    mean = abp.sqrt() * beta[t] / (1 - ab[t]) * x0 + (1 - beta[t]).sqrt() * (1 - abp) / (1 - ab[t]) * xt
    return mean, beta[t] if variance == "beta" else (1 - abp) / (1 - ab[t]) * beta[t]


def _x0(xt, t, eps, ab, sqrt=True, sign=1):
    return (xt - sign * (1 - ab[t]).sqrt() * eps) / ab[t].sqrt() if sqrt else (xt - (1 - ab[t]) * eps) / ab[t]


def _ddpm(xt, t, eps, beta, ab, z, variance="posterior", noise_at_0=False):
    mean, var = _posterior(_x0(xt, t, eps, ab), xt, t, beta, ab)
    var = beta[t] if variance == "beta" else var
    if t == 0 and not noise_at_0:
        return mean
    return mean + (var if t > 0 else _posterior(xt, xt, 1, beta, ab)[1]).sqrt() * z


def _ddim(xt, t, t_prev, eps, ab, wrap=False, sqrt=True):
    x0 = _x0(xt, t, eps, ab)
    abp = ab[t_prev] if (t_prev >= 0 or wrap) else torch.ones((), dtype=ab.dtype)
    return abp.sqrt() * x0 + (1 - abp).sqrt() * eps if sqrt else abp * x0 + (1 - abp) * eps


def _unclipped_cosine(T, s=0.008, max_beta=0.999):
    u = torch.arange(T + 1, dtype=torch.float64) / T
    f = torch.cos((u + s) / (1 + s) * math.pi / 2) ** 2
    return 1 - f[1:] / f[:-1]


CASES = [
    # (check, right answer, wrong answer, words the message must contain)
    (F.alpha_bar_from_beta, _alpha_bar, lambda b: torch.cumprod(b, 0), "cumulative product of beta"),
    (F.alpha_bar_from_beta, _alpha_bar, lambda b: 1 - b, "alpha = 1 - beta itself"),
    (F.alpha_bar_from_beta, _alpha_bar, lambda b: None, "replace the `...`"),
    (F.cosine_beta, _cosine, _unclipped_cosine, "not clipped"),
    (F.q_sample, _q_sample, lambda *a: _q_sample(*a, sqrt=False), "square roots are missing"),
    (F.q_sample, _q_sample, lambda *a: _q_sample(*a, index_shift=1), "one step too early"),
    (F.posterior_mean_variance, _posterior, lambda *a: _posterior(*a, variance="beta"), "beta_t, the forward step's variance"),
    (F.posterior_mean_variance, _posterior, lambda *a: _posterior(*a, wrap=True), "alpha_bar[-1] is the LAST entry"),
    (R.x0_from_eps, _x0, lambda *a: _x0(*a, sqrt=False), "square roots are missing"),
    (R.x0_from_eps, _x0, lambda *a: _x0(*a, sign=-1), "subtracted"),
    (R.ddpm_step, _ddpm, lambda *a: _ddpm(*a, variance="beta"), "posterior variance"),
    (R.ddpm_step, _ddpm, lambda *a: _ddpm(*a, noise_at_0=True), "t=0"),
    (R.ddim_step, _ddim, lambda *a: _ddim(*a, wrap=True), "alpha_bar[-1] is the LAST entry"),
    (R.ddim_step, _ddim, lambda *a: _ddim(*a, sqrt=False), "square roots are missing"),
    (R.ddim_step, _ddim, lambda *a: 2 * _ddim(*a), "largest error"),
]


@pytest.mark.parametrize("check, right, wrong, words", CASES, ids=[f"{c.__name__}-{w[:24]}" for c, _, _, w in CASES])
def test_checks_accept_the_right_answer_and_name_the_mistake_in_a_wrong_one(check, right, wrong, words):
    assert_check_accepts_right_and_names_wrong(check, right, wrong, words)


def test_checks_stop_an_infinite_loop_with_a_message():
    from diffusion_edu.checks import limited

    def forever(beta):
        while True:
            pass

    with pytest.raises(AssertionError, match="infinite loop"):
        limited(forever, seconds=0.5)(torch.zeros(3))


# ------------------------------------------------------------------ batch grading
def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_grading_a_folder_gives_the_expected_gradebook(built, tmp_path):
    ex1, ex2 = (ROOT / "exercises" / m.name for m in MASTERS[:2])
    m1, m2 = MASTERS[:2]
    folder = tmp_path / "submissions"
    folder.mkdir()
    (folder / "ana.ipynb").write_text(json.dumps(filled_in(ex1, m1)))  # all correct
    (folder / "ben.ipynb").write_text(ex1.read_text())  # blank: handed in unchanged
    crash = 'def alpha_bar_from_beta(beta):\n    raise RuntimeError("not done")'
    (folder / "cem.ipynb").write_text(json.dumps(filled_in(ex1, m1, {0: crash})))  # q1 crashes
    loops = {1: "def cosine_beta(T, s=0.008, max_beta=0.999):\n    while True:\n        pass",  # q2 hangs in a call
             2: "while True:\n    pass"}  # q3's cell itself hangs
    (folder / "dia.ipynb").write_text(json.dumps(filled_in(ex1, m1, loops)))
    (folder / "eve.ipynb").write_text(json.dumps(filled_in(ex2, m2)))  # exercise 2, all correct
    before = {p.name: digest(p) for p in folder.iterdir()}

    out = tmp_path / "grades.csv"
    done = subprocess.run(
        [sys.executable, "solutions/grade.py", str(folder), "--out", str(out), "--cell-timeout", "15", "--timeout", "300"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {r["student"]: r for r in csv.DictReader(out.open())}
    totals = {name: (r["exercise"], r["autograded total"], r["autograded max"]) for name, r in rows.items()}
    assert totals == {
        "ana": ("01_forward_process", "8", "8"),
        "ben": ("01_forward_process", "0", "8"),
        "cem": ("01_forward_process", "7", "8"),  # loses only q1 (1 point)
        "dia": ("01_forward_process", "4", "8"),  # loses q2 and q3 (2 + 2), keeps q1 and q4
        "eve": ("02_reverse_process", "6", "6"),
    }
    assert rows["dia"]["q2 (/2)"] == "0" and rows["dia"]["q4 (/3)"] == "3"
    assert "KeyboardInterrupt" in rows["dia"]["note"], "a cell stopped by the time limit is noted"
    assert rows["ana"]["q5 (manual, /2)"] == "", "written answers are left for the instructor"
    assert {p.name: digest(p) for p in folder.iterdir()} == before, "grading must not modify submissions"


@pytest.mark.parametrize("master", MASTERS, ids=lambda p: p.name)
def test_blank_student_notebook_runs_and_reports_every_check_as_failing(master):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(ROOT / "exercises" / master.name, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "exercises")}}).execute()
    feedback = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.startswith("grader.check("):
            feedback[cell.source] = "".join(o.get("data", {}).get("text/plain", "") + o.get("text", "") for o in cell.outputs)
    assert feedback, "no grader.check cells ran"
    for check, text in feedback.items():
        assert "failed" in text and "replace the `...`" in text, f"{check} should fail with a hint on a blank answer, showed:\n{text}"
