"""The book's notebooks as files: clean, complete, and consistent with _config.yml.

Executing them is nbval's job (`make test` runs `pytest tests book --nbval`); these tests check
what a reader and a Colab user rely on before anything runs.
"""
import json
import pathlib
import re

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = (ROOT / "_toc.yml").read_text()


def cells(path):
    return json.loads(path.read_text())["cells"]


def source(cell):
    return "".join(cell["source"])


def test_there_are_chapters():
    assert len(CHAPTERS) >= 2, "book/ should hold the numbered chapter notebooks"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_is_committed_without_outputs(path):
    dirty = [i for i, c in enumerate(cells(path)) if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))]
    assert not dirty, f"{path.name}: cells {dirty} have outputs; the book executes notebooks, commit them clean"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_is_in_the_table_of_contents(path):
    assert f"book/{path.stem}" in TOC, f"{path.name} is missing from _toc.yml"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_opens_with_goals_and_run_time_and_ends_with_a_summary(path):
    text = [source(c) for c in cells(path)]
    assert text[0].startswith("# "), f"{path.name} must open with its title"
    assert "Learning goals" in text[0] and "Run time" in text[0], f"{path.name}: the first cell states goals and run time"
    assert "__RUNTIME__" not in text[0], f"{path.name}: the run time placeholder was not filled in"
    assert any("## Summary" in t for t in text[-3:]), f"{path.name} must end with a summary"


NOTEBOOKS = CHAPTERS + sorted((ROOT / "exercises").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_first_code_cell_installs_the_package_from_the_configured_repository(path):
    code = [source(c) for c in cells(path) if c["cell_type"] == "code"]
    setup = code[0]
    assert "google.colab" in setup, f"{path.name}: the first code cell must be the Colab setup cell"
    urls = re.findall(r"git\+(https://[^\"'\s]+)", setup)
    assert urls == [CONFIG["repository"]["url"]], (
        f"{path.name}: the setup cell installs from {urls}, but _config.yml's repository.url is "
        f"{CONFIG['repository']['url']}: run `python solutions/set_repository.py`"
    )


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_widget_cells_are_ignored_by_nbval_and_have_a_static_fallback(path):
    cs = cells(path)
    for i, c in enumerate(cs):
        if c["cell_type"] == "code" and "widgets." in source(c) and "import" not in source(c):
            assert "nbval-ignore-output" in c["metadata"].get("tags", []), (
                f"{path.name} cell {i}: widget cells need the nbval-ignore-output tag"
            )
            before = "".join(source(x) for x in cs[:i] if x["cell_type"] == "code")
            assert "viz." in before, f"{path.name} cell {i}: a widget needs a static figure before it"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_figure_cells_have_alt_text(path):
    for i, c in enumerate(cells(path)):
        src = source(c)
        last_line = src.strip().splitlines()[-1] if c["cell_type"] == "code" and src.strip() else ""
        if last_line.startswith("viz.") and "anim" not in last_line:
            alt = c["metadata"].get("mystnb", {}).get("image", {}).get("alt", "")
            assert len(alt) > 20, f"{path.name} cell {i} shows a figure without alt text (metadata mystnb.image.alt)"
