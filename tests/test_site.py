"""The rendered book, as readers get it: built, then every page opened in a real browser.

`make test` builds the book in the smoke profile into `_build/smoke/_build/html` (warnings are
errors, as in `make book`; the build does not touch `make book`'s `_build/html`) and opens each
page in headless Chromium (tests/site_check.py says what is checked). Each page is one test,
which names the page and its faults. A fixture book (tests/site_fixture/) with one fault per
page proves that each kind of fault is caught.

Environment variables:
- DIFFUSION_EDU_SCREENSHOTS=DIR  save a full-page screenshot of every page under DIR (book/ and
  fixture/), to look at the whole book in a minute;
- DIFFUSION_EDU_SITE_HTML=DIR    check that already built site instead of building one (e.g.
  `make book`'s _build/html, in the cpu profile);
- CI                             when set, a missing browser fails the test instead of skipping it.

Without Chromium (and its driver) the browser tests are skipped with the command that installs
it; the build, the alt-text and the search-index tests still run.
"""
from __future__ import annotations

import ast
import html.parser
import json
import os
import pathlib
import re
import subprocess
import sys
import time

import pytest
import yaml

import site_check

ROOT = pathlib.Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
FIXTURE = ROOT / "tests" / "site_fixture"
SMOKE_OUT = ROOT / "_build" / "smoke"  # jupyter-book writes the site to SMOKE_OUT/_build/html
SHOTS = os.environ.get("DIFFUSION_EDU_SCREENSHOTS")


def toc_docnames(toc_path: pathlib.Path) -> list[str]:
    """Every document of a _toc.yml, in order."""
    toc = yaml.safe_load(toc_path.read_text())
    names = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                names.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return names


BOOK_PAGES = [f"{name}.html" for name in toc_docnames(ROOT / "_toc.yml")] + ["genindex.html", "search.html"]
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))


def jupyter_book(*args: str, env: dict | None = None, log: pathlib.Path) -> None:
    """Run `jupyter-book build ...` of this environment; on failure, fail with the log's end."""
    exe = pathlib.Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", *args, "-W", "--all"]
    log.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    with log.open("w") as out:
        result = subprocess.run(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        pytest.fail(f"`{' '.join(cmd)}` failed (exit {result.returncode}); full log: {log}\n{tail}", pytrace=False)
    print(f"built in {time.time() - t0:.0f} s: {' '.join(cmd)}")


@pytest.fixture(scope="session")
def book_html() -> pathlib.Path:
    """The book, built as `make book` builds it but in the test profile (smoke unless set)."""
    if os.environ.get("DIFFUSION_EDU_SITE_HTML"):
        return pathlib.Path(os.environ["DIFFUSION_EDU_SITE_HTML"]).resolve()
    env = {**os.environ, "DIFFUSION_EDU_PROFILE": os.environ.get("DIFFUSION_EDU_PROFILE") or "smoke"}
    jupyter_book(".", "--path-output", str(SMOKE_OUT), env=env, log=SMOKE_OUT / "build.log")
    return SMOKE_OUT / "_build" / "html"


@pytest.fixture(scope="session")
def fixture_html(tmp_path_factory) -> pathlib.Path:
    """The fixture book, built with the book's own configuration and the fixture's on top."""
    out = tmp_path_factory.mktemp("site_fixture")
    config = merge(CONFIG, yaml.safe_load((FIXTURE / "_config.yml").read_text()))
    config.setdefault("sphinx", {})["local_extensions"] = {"course_site": str(ROOT / "_ext")}
    (out / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))  # order matters (nb_ipywidgets_js)
    jupyter_book(str(FIXTURE), "--config", str(out / "_config.yml"), "--path-output", str(out), log=out / "build.log")
    return out / "_build" / "html"


def merge(base: dict, over: dict) -> dict:
    merged = dict(base)
    for key, value in over.items():
        merged[key] = merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return merged


@pytest.fixture(scope="session")
def browser_available() -> None:
    message = site_check.missing_browser_message()
    if message and os.environ.get("CI"):
        pytest.fail(f"{message}. CI is set, so this fails rather than skips: .ci/run installs it "
                    "when run as root.", pytrace=False)
    if message:
        pytest.skip(f"{message}. Install it with: {site_check.INSTALL_HINT}")


@pytest.fixture(scope="session")
def book_reports(book_html, browser_available) -> dict[str, site_check.PageReport]:
    t0 = time.time()
    reports = site_check.check_site(book_html, site_check.Repository.from_config(ROOT, CONFIG),
                                    shots=pathlib.Path(SHOTS) / "book" if SHOTS else None)
    lines = [("FAIL " if r.faults else "ok   ") + r.summary() for r in reports.values()]
    (book_html.parent / "site_check.txt").write_text("\n".join(lines) + f"\nchecked in {time.time() - t0:.0f} s\n")
    print("\n".join(lines))
    return reports


@pytest.fixture(scope="session")
def fixture_reports(fixture_html, browser_available) -> dict[str, site_check.PageReport]:
    repo = site_check.Repository.from_config(FIXTURE, yaml.safe_load((FIXTURE / "_config.yml").read_text()))
    return site_check.check_site(fixture_html, repo, shots=pathlib.Path(SHOTS) / "fixture" if SHOTS else None)


# --- the book -------------------------------------------------------------------------------

def test_every_page_of_the_site_is_checked(book_reports):
    assert sorted(book_reports) == sorted(BOOK_PAGES), (
        "the built site's pages differ from _toc.yml's (plus genindex and search): "
        f"only in the site {sorted(set(book_reports) - set(BOOK_PAGES))}, "
        f"only in _toc.yml {sorted(set(BOOK_PAGES) - set(book_reports))}")


@pytest.mark.parametrize("page", BOOK_PAGES)
def test_page_reads_cleanly_in_a_browser(book_reports, page):
    if page not in book_reports:
        pytest.fail(f"{page} was not built", pytrace=False)
    report = book_reports[page]
    print(report.summary())
    assert not report.faults, f"{page}: " + "".join(f"\n  - {fault}" for fault in report.faults)


def promises(path: pathlib.Path) -> dict[str, int]:
    """What a chapter's code promises its page shows, from the value each code cell ends with:
    an animation (`HTML(anim.to_jshtml())`), a widget (`widgets.…(...)`), an audio player
    (`Audio(...)`)."""
    found = {"animations": 0, "widgets": 0, "audio": 0}
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        # IPython's shell escapes and magics are not Python: make them a statement that is
        lines = [re.sub(r"^(\s*)[!%].*", r"\1pass", line) for line in "".join(cell["source"]).splitlines()]
        body = ast.parse("\n".join(lines)).body
        if not body or not isinstance(body[-1], ast.Expr):
            continue
        value = ast.unparse(body[-1])
        if "to_jshtml(" in value:
            found["animations"] += 1
        elif value.startswith("widgets."):
            found["widgets"] += 1
        elif re.match(r"([\w.]+\.)?Audio\(", value):
            found["audio"] += 1
    return found


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_shows_what_it_promises(book_reports, path):
    """Each animation plays (more than one frame), each widget renders, each audio player loads."""
    page = f"book/{path.stem}.html"
    seen = book_reports[page].seen
    expected = promises(path)
    found = {
        "animations": sum(a["distinct"] > 1 and a["shown"] for a in seen["animations"]),
        "widgets": sum(w["rendered"] and bool(w["fallback"]) for w in seen["widgets"]),
        "audio": sum(a["duration"] is not None and a["duration"] > 0 for a in seen["audio"]),
    }
    short = {k: v for k, v in expected.items() if found[k] < v}
    assert not short, f"{page}: the notebook's cells promise {expected}, the page shows working {found}"


class _Images(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.alts = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.alts.append(dict(attrs).get("alt", ""))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_figure_alt_text_reaches_the_page(book_html, path):
    """The alt text a figure cell sets (mystnb.image.alt) is the alt attribute of its image."""
    parser = _Images()
    parser.feed((book_html / "book" / f"{path.stem}.html").read_text())
    cells = json.loads(path.read_text())["cells"]
    alts = [c["metadata"]["mystnb"]["image"]["alt"] for c in cells if c["metadata"].get("mystnb", {}).get("image", {}).get("alt")]
    missing = [alt[:60] for alt in alts if alt not in parser.alts]
    assert alts and not missing, f"{path.name}: figures whose alt text is not on the page: {missing}"


def test_search_index_finds_ddim_in_the_sampler_chapter(book_html):
    """Sphinx's search index (what search.html reads) lists chapter 2 for "DDIM"."""
    from sphinx.search.en import SearchEnglish

    text = (book_html / "searchindex.js").read_text()
    index = json.loads(text[text.index("(") + 1: text.rindex(")")])
    term = SearchEnglish({}).stem("ddim")
    docs = set()
    for table in ("terms", "titleterms"):  # Sphinx files a word under one or the other per page
        hits = index[table].get(term, [])
        docs |= set(hits if isinstance(hits, list) else [hits])
    found = {index["docnames"][i] for i in docs}
    assert "book/02_reverse_process" in found, f"the search index lists {sorted(found)} for DDIM"


def test_search_page_finds_the_sampler_chapter(book_html, browser_available):
    """In the browser, search.html?q=DDIM lists chapter 2 first."""
    results = site_check.search(book_html, "DDIM")
    assert results and results[0] == "book/02_reverse_process.html", f"searching DDIM gives {results}"


class _Resources(html.parser.HTMLParser):
    """The scripts, stylesheets and media a page loads (not its links to other sites)."""

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("script", "img", "audio", "video", "source", "iframe") and a.get("src"):
            self.urls.append(a["src"])
        if tag == "link" and a.get("href") and (a.get("rel") or "") in ("stylesheet", "preload", "icon"):
            self.urls.append(a["href"])


def test_pages_load_nothing_from_a_cdn(book_html):
    """Without a browser too: no page of the built site loads a script, style or image from
    another host, so the book reads offline (the browser test also watches the requests made)."""
    remote = {}
    for page in book_html.rglob("*.html"):
        if page.relative_to(book_html).parts[0] in site_check.SKIP_DIRS:
            continue
        parser = _Resources()
        parser.feed(page.read_text(errors="replace"))
        urls = [u for u in parser.urls if u.startswith(("http:", "https:", "//"))]
        if urls:
            remote[page.relative_to(book_html).as_posix()] = urls
    assert not remote, f"pages that load from the network: {remote}"


def test_vendored_widget_renderer_has_its_fonts():
    """Every icon font that embed-amd.js asks for is vendored next to it (_ext/refresh_widgets_vendor.sh)."""
    dist = ROOT / "_ext" / "static" / "widgets" / "@jupyter-widgets" / "html-manager" / "dist"
    wanted = set(re.findall(r'"([0-9a-f]{20}\.woff2?)"', (dist / "embed-amd.js").read_text()))
    assert wanted, "found no font file names in embed-amd.js"
    missing = sorted(name for name in wanted if not (dist / name).is_file())
    assert not missing, f"fonts embed-amd.js asks for that are not vendored: {missing}"


# --- the fixture: every kind of fault is caught and named ------------------------------------

FIXTURE_FAULTS = {
    "clean.html": [],
    "genindex.html": [],
    "search.html": [],
    "raising.html": ["traceback in an output: ZeroDivisionError", "stderr shown to the reader: a warning"],
    "bad_colab.html": ["Colab link https://colab.research.google.com/github/diffusion-edu/site-fixture/blob/main/renamed_chapter.ipynb points at renamed_chapter.ipynb, which is not in the repository"],
    "bad_math.html": ["math: MathJax error \"Extra close brace or missing open brace\" in $x^{2}}$",
                      "math left untypeset (MathJax did not typeset it): 1 of 2 expressions, e.g. \\(\\frac{1}{2\\)"],
    "undefined_macro.html": ["math: undefined macro \\notamacro"],
    # the Markdown image, and the figure output (whose alt docutils sets to its file name)
    "no_alt.html": ["image without alt text: _images/dot.png", "image without alt text: _images/"],
    "js_error.html": ["JavaScript error", "thisFunctionDoesNotExist is not defined"],
    "broken_link.html": ["broken link: missing_page.html", "broken anchor: clean.html#no-such-anchor"],
    "promises.html": ["widget 1 has no static fallback", "has 1 distinct frame(s): it does not move",
                      "animation without alt text", "audio player without a source"],
}


def test_fixture_pages_are_all_checked(fixture_reports):
    assert sorted(fixture_reports) == sorted(FIXTURE_FAULTS)


@pytest.mark.parametrize("page", sorted(FIXTURE_FAULTS))
def test_fixture_fault_is_caught_and_named(fixture_reports, page):
    faults = fixture_reports[page].faults
    text = "\n".join(faults)
    missed = [expected for expected in FIXTURE_FAULTS[page] if expected not in text]
    assert not missed, f"{page}: the check did not report {missed}; it reported {faults}"
    if not FIXTURE_FAULTS[page]:
        assert not faults, f"{page} has no fault, but the check reported {faults}"
    else:
        assert len(faults) <= len(FIXTURE_FAULTS[page]) + 1, f"{page}: more faults than planted: {faults}"


def test_fixture_working_parts_are_seen(fixture_reports):
    """What works on the fixture pages is seen as working: the check does not just fail everything."""
    clean = fixture_reports["clean.html"].seen
    assert clean["math_typeset"] == 2 and clean["figures"] == 1 and clean["colab"]
    promises = fixture_reports["promises.html"].seen
    assert [w["rendered"] for w in promises["widgets"]] == [True]
    assert [a["frames"] for a in promises["animations"]] == [1]
    assert sum(a["duration"] is not None and a["duration"] > 0 for a in promises["audio"]) == 1
