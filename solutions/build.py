"""Generate the student exercises and the autograders from the master notebooks (otter assign).

    python solutions/build.py            # regenerate exercises/, public tests, autograder zips
    python solutions/build.py --check    # exit 1 if the committed exercises are stale

For each master ``solutions/NN_name.ipynb`` this writes
- ``exercises/NN_name.ipynb``: the student notebook (answers replaced by ``...``), committed so
  that Colab links work;
- ``diffusion_edu/exercise_tests/NN_name/q*.py``: the public tests, shipped inside the package so
  that ``grader.check`` works in Colab too;
- ``_build/autograder/NN_name.zip``: the autograder with public and hidden tests, for
  ``solutions/grade.py`` (not committed: it is rebuilt from the master).
"""
from __future__ import annotations

import argparse
import json
import pathlib
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
MASTERS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
EXERCISES = ROOT / "exercises"
PUBLIC_TESTS = ROOT / "diffusion_edu" / "exercise_tests"
AUTOGRADERS = ROOT / "_build" / "autograder"


def otter_assign(master: pathlib.Path, out: pathlib.Path) -> None:
    cmd = [sys.executable, "-m", "otter", "assign", "--no-run-tests", str(master), str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=master.parent)
    if done.returncode:
        sys.exit(f"otter assign failed on {master.name}:\n{done.stdout}\n{done.stderr}")


def normalised_notebook(path: pathlib.Path) -> str:
    """The student notebook with stable cell ids and no outputs, as committed."""
    nb = json.loads(path.read_text())
    # The book shows exercises unexecuted: name the IPython lexer, so `!pip` in the setup cell
    # is highlighted (Sphinx warns, and -W fails, when plain Python cannot lex it).
    nb["metadata"]["language_info"] = {"name": "python", "pygments_lexer": "ipython3",
                                       "codemirror_mode": {"name": "ipython", "version": 3}}
    for i, cell in enumerate(nb["cells"]):
        cell["id"] = f"cell-{i:02d}"
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def generate(master: pathlib.Path, tmp: pathlib.Path) -> dict[pathlib.Path, str]:
    """Run otter assign on ``master``; return {committed path: content} and copy the autograder."""
    out = tmp / master.stem
    otter_assign(master, out)
    files = {EXERCISES / master.name: normalised_notebook(out / "student" / master.name)}
    for test in sorted((out / "student" / "tests").glob("*.py")):
        files[PUBLIC_TESTS / master.stem / test.name] = test.read_text()
    (zip_path,) = (out / "autograder").glob("*.zip")
    AUTOGRADERS.mkdir(parents=True, exist_ok=True)
    shutil.copy(zip_path, AUTOGRADERS / f"{master.stem}.zip")
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the committed files instead of writing")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        expected: dict[pathlib.Path, str] = {}
        for master in MASTERS:
            expected.update(generate(master, pathlib.Path(tmp)))
    committed = set(EXERCISES.glob("[0-9][0-9]_*.ipynb")) | set(PUBLIC_TESTS.glob("*/*.py"))
    if args.check:
        stale = [p for p, text in expected.items() if not p.exists() or p.read_text() != text]
        stale += sorted(committed - set(expected))
        for p in stale:
            print(f"stale: {p.relative_to(ROOT)}")
        if stale:
            print("regenerate with `make exercises` and commit the result")
        return 1 if stale else 0
    for p in committed - set(expected):
        p.unlink()
    for p, text in expected.items():
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    print(f"wrote {len(expected)} files from {len(MASTERS)} master notebooks; autograders in {AUTOGRADERS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
