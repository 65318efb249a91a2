"""The Colab/Binder path: requirements.txt alone is enough to run an exercise.

Builds a fresh virtual environment from requirements.txt (as Binder would; Colab's setup cell
installs the same package with its `grading` extra), with no dev extras, installs the package,
and executes exercise 1 with its solutions filled in: every check must pass. torch is installed
first at the pinned version, as on every machine of this project (an unpinned torch would pull
a CUDA build of several GB); Colab and Binder keep or take their own.
"""
import json
import os
import pathlib
import subprocess
import sys
import venv

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from exercise_notebooks import filled_in  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]

RUN = """
import json, sys, nbformat
from nbclient import NotebookClient
nb = nbformat.reads(open(sys.argv[1]).read(), as_version=4)
NotebookClient(nb, timeout=600, kernel_name="python3").execute()
outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
print(json.dumps([o.get("data", {}).get("text/plain", o.get("text", "")) for o in outputs]))
"""


@pytest.mark.slow
def test_requirements_txt_alone_runs_an_exercise(tmp_path):
    env_dir = tmp_path / "env"
    venv.create(env_dir, with_pip=True)
    pip = [str(env_dir / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    torch_pin = next(line.strip() for line in (ROOT / "constraints.txt").read_text().splitlines() if line.startswith("torch=="))
    for args in ([torch_pin], ["-r", "requirements.txt"]):
        done = subprocess.run(pip + args, cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 0, f"pip install {' '.join(args)} failed:\n{done.stderr[-3000:]}"

    notebook = tmp_path / "exercise.ipynb"
    notebook.write_text(json.dumps(filled_in(ROOT / "exercises" / "01_forward_process.ipynb",
                                             ROOT / "solutions" / "01_forward_process.ipynb")))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{env['PATH']}"  # its kernel is this env's python
    done = subprocess.run([str(env_dir / "bin" / "python"), "-c", RUN, str(notebook)],
                          cwd=tmp_path, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    outputs = "\n".join(json.loads(done.stdout.strip().splitlines()[-1]))
    for q in ("q1", "q2", "q3", "q4"):
        assert f"{q} results: All test cases passed!" in outputs, f"{q} did not pass in the fresh environment:\n{outputs}"
