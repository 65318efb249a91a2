"""The course map (book/course_map.md) is made from each chapter notebook's metadata at build
time by _ext/course_site.py; these tests keep that metadata complete and in line with what each
chapter's first cell tells its reader."""
import importlib.util
import json
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))

_spec = importlib.util.spec_from_file_location("course_site", ROOT / "_ext" / "course_site.py")
course_site = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(course_site)


def test_every_chapter_has_course_map_metadata():
    chapters = course_site.read_chapters(ROOT / "book")  # raises, naming the notebook, when incomplete
    assert [c["path"] for c in chapters] == CHAPTERS


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_run_times_in_the_metadata_match_the_chapter_text(path):
    notebook = json.loads(path.read_text())
    first_cell = "".join(notebook["cells"][0]["source"])
    run_time = notebook["metadata"][course_site.METADATA_KEY]["run_time_s"]
    for profile, seconds in run_time.items():
        shown = course_site.format_seconds(seconds)
        assert shown in first_cell, (
            f"{path.name}: the notebook metadata says the {profile} profile runs in {shown}, but the "
            f"first cell does not say so; update one or the other")


@pytest.mark.parametrize("seconds, text", [(5, "5 s"), (140, "2 min 20 s"), (3600, "60 min"), (None, "not measured yet")])
def test_format_seconds(seconds, text):
    assert course_site.format_seconds(seconds) == text


def test_missing_metadata_is_named(tmp_path):
    (tmp_path / "01_x.ipynb").write_text(json.dumps({"cells": [{"cell_type": "markdown", "source": ["# X"], "metadata": {}}], "metadata": {}}))
    with pytest.raises(ValueError, match="01_x.ipynb: notebook metadata 'diffusion_edu' is missing"):
        course_site.read_chapters(tmp_path)
