"""The course's own Sphinx extension (loaded through `sphinx: local_extensions` in _config.yml).

Two jobs:

1. **The site works offline.** It copies into the built site what its pages would otherwise load
   from a CDN:

   - MathJax 3 (`_static/mathjax/`), from the `django-static-mathjax` package on PyPI (pinned in
     constraints.txt): only `es5/tex-mml-chtml.js`, its CHTML fonts and the TeX extensions it
     loads on demand (2.2 MB of the package's 10 MB). `mathjax_path` in _config.yml points at it.
   - The Jupyter widget renderer (`_static/widgets/`): RequireJS and
     @jupyter-widgets/html-manager's `embed-amd.js` with its icon fonts, vendored from npm in
     `_ext/static/widgets/` (see `LICENSES.md` and `VERSIONS` there). `nb_ipywidgets_js` in
     _config.yml points at them.

   They are copied when the build has finished, straight into `_static/` of the output, and not
   through `html_static_path`: Jupyter Book 1 adds a script tag for every `.js` file in the
   static folders it is given, which for MathJax's extensions would be 1,300 tags per page.
   And the link to Font Awesome 4 on a CDN that matplotlib's animations write is dropped from
   the pages (the theme's own Font Awesome draws their buttons' icons).

2. **The course map** (`{course-map}` directive, used by book/course_map.md): a table of the
   chapters, what each needs first, its measured run time per profile and its exercise, made at
   build time from each chapter notebook's metadata, so it cannot fall out of date. Each chapter
   notebook carries, in its notebook-level metadata::

       "diffusion_edu": {
         "prerequisites": ["01_forward_process"],      # chapters (file stems) to read first
         "background": "Python, a little PyTorch",     # what else it assumes (optional)
         "run_time_s": {"smoke": 15, "cpu": 140, "gpu": null},  # measured; null: not yet
         "exercise": "exercises/02_reverse_process.ipynb"       # optional; see below
       }

   The run times are measured on a 2-core CPU for `smoke` and `cpu`. The exercise is the
   notebook named in `exercise`, else `exercises/<chapter file name>` when it exists; the map
   links its page in the book, or opens it in Colab when the book does not include it.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from importlib import resources
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

HERE = Path(__file__).resolve().parent
WIDGETS = HERE / "static" / "widgets"
# The parts of MathJax 3.2 that tex-mml-chtml.js needs, relative to the package's mathjax folder.
MATHJAX_PARTS = ("es5/tex-mml-chtml.js", "es5/output/chtml/fonts", "es5/input/tex/extensions", "LICENSE")
PROFILES = ("smoke", "cpu", "gpu")
PROFILE_HEADERS = {"smoke": "Run time: smoke", "cpu": "cpu", "gpu": "gpu"}
METADATA_KEY = "diffusion_edu"


# --- 1. offline assets ----------------------------------------------------------------------

def mathjax_root() -> Path:
    """The MathJax distribution inside the django-static-mathjax package."""
    try:
        root = Path(str(resources.files("mathjax"))) / "static" / "mathjax"
    except ModuleNotFoundError as e:
        raise RuntimeError(
            "the book serves its own MathJax, from the django-static-mathjax package: "
            "pip install -c constraints.txt 'django-static-mathjax' (make book installs it)"
        ) from e
    if not (root / MATHJAX_PARTS[0]).is_file():
        raise RuntimeError(f"no {MATHJAX_PARTS[0]} under {root}: is django-static-mathjax 3.x installed?")
    return root


def copy_tree(src: Path, dst: Path) -> None:
    """Copy a file or a folder, skipping files that are already there with the same size and age."""
    if src.is_dir():
        for path in src.rglob("*"):
            if path.is_file():
                copy_tree(path, dst / path.relative_to(src))
        return
    if dst.is_file() and dst.stat().st_size == src.stat().st_size and dst.stat().st_mtime >= src.stat().st_mtime:
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dst)


def copy_offline_assets(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    static = Path(app.outdir) / "_static"
    root = mathjax_root()
    for part in MATHJAX_PARTS:
        copy_tree(root / part, static / "mathjax" / part)
    copy_tree(WIDGETS, static / "widgets")


# matplotlib's animations (to_jshtml) link Font Awesome 4 from a CDN for their buttons' icons.
# The theme already ships Font Awesome 6, whose script draws those icons (fa fa-play ...) too:
# the link is dropped from the built pages (a notebook opened in Jupyter or Colab keeps it).
FONT_AWESOME_CDN = re.compile(r'<link[^>]*href="https://maxcdn\.bootstrapcdn\.com/font-awesome/[^"]*"[^>]*>\s*')


def drop_cdn_links(app, doctree, docname) -> None:
    for node in doctree.findall(nodes.raw):
        text = node.astext()
        if "html" in node.get("format", "").split() and FONT_AWESOME_CDN.search(text):
            node.children = [nodes.Text(FONT_AWESOME_CDN.sub("", text))]


# --- 2. the course map ----------------------------------------------------------------------

def format_seconds(seconds) -> str:
    """5 -> '5 s', 140 -> '2 min 20 s', 3600 -> '60 min', None -> 'not measured yet'."""
    if seconds is None:
        return "not measured yet"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min" + (f" {rest} s" if rest else "")


def chapter_title(notebook: dict, number: int) -> str:
    """'2. Learning to reverse it', from the notebook's first heading and its file's number."""
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "):
                    title = line[2:].strip()
                    return title if title[:1].isdigit() else f"{number}. {title}"
    raise ValueError("a chapter notebook must open with a '# Title' heading")


def read_chapters(book_dir: Path) -> list[dict]:
    """The chapters (book/NN_*.ipynb) in order, each with its course-map metadata checked."""
    chapters = []
    paths = sorted(book_dir.glob("[0-9][0-9]_*.ipynb"))
    stems = {p.stem for p in paths}
    for path in paths:
        notebook = json.loads(path.read_text(encoding="utf-8"))
        meta = notebook.get("metadata", {}).get(METADATA_KEY)
        where = f"{path.name}: notebook metadata '{METADATA_KEY}'"
        if not isinstance(meta, dict):
            raise ValueError(f"{where} is missing: the course map is made from it (see _ext/course_site.py)")
        run_time = meta.get("run_time_s", {})
        missing = [p for p in PROFILES if p not in run_time]
        if missing:
            raise ValueError(f"{where}: run_time_s has no entry for {missing} (null means not measured yet)")
        unknown = [p for p in meta.get("prerequisites", []) if p not in stems]
        if unknown:
            raise ValueError(f"{where}: prerequisites {unknown} are not chapters (expected file stems such as {sorted(stems)[0]})")
        chapters.append({"path": path, "title": chapter_title(notebook, int(path.name[:2])), **meta})
    return chapters


def colab_url(config, path: str) -> str:
    """The Colab link of the book's file ``path``, from the repository settings of _config.yml
    (which Jupyter Book passes to the theme), as the launch buttons make it."""
    options = config.html_theme_options
    repo = options.get("repository_url", "").rstrip("/").split("github.com/")[-1]
    branch = options.get("repository_branch") or "main"
    in_repo = "/".join(part for part in (options.get("path_to_docs", "").strip("/"), path) if part)
    return f"https://colab.research.google.com/github/{repo}/blob/{branch}/{in_repo}"


class CourseMap(SphinxDirective):
    """The table of chapters: prerequisites, run time per profile, exercise."""

    has_content = False

    def run(self):
        env = self.env
        srcdir = Path(env.srcdir)
        book_dir = srcdir / "book"
        try:
            chapters = read_chapters(book_dir)
        except ValueError as e:
            raise self.error(str(e)) from e
        here = Path(env.doc2path(env.docname)).parent

        def rel(path: Path) -> str:
            """A link from this page to ``path`` (a source file), as MyST resolves it."""
            return Path(os.path.relpath(path, here)).as_posix()

        titles = {c["path"].stem: c["title"] for c in chapters}
        rows = ["| Chapter | Read first | " + " | ".join(PROFILE_HEADERS[p] for p in PROFILES) + " | Exercise |",
                "|---" * (3 + len(PROFILES)) + "|"]
        for c in chapters:
            env.note_dependency(str(c["path"]))
            first = [f"[{titles[p]}]({rel(book_dir / (p + '.ipynb'))})" for p in c.get("prerequisites", [])]
            if c.get("background"):
                first.append(c["background"])
            times = [format_seconds(c["run_time_s"][p]) for p in PROFILES]
            rows.append(f"| [{c['title']}]({rel(c['path'])}) | {'; '.join(first) or 'nothing'} | "
                        + " | ".join(times) + f" | {self.exercise_link(c, srcdir, rel)} |")
        container = nodes.container(classes=["course-map"])
        self.state.nested_parse(StringList(rows, source=env.docname), self.content_offset, container)
        return [container]

    def exercise_link(self, chapter: dict, srcdir: Path, rel) -> str:
        path = chapter.get("exercise") or f"exercises/{chapter['path'].name}"
        if not (srcdir / path).is_file():
            if chapter.get("exercise"):
                raise self.error(f"{chapter['path'].name}: its exercise {path} does not exist")
            return "none yet"
        docname = str(Path(path).with_suffix("").as_posix())
        if docname in self.env.found_docs:
            return f"[exercise]({rel(srcdir / path)})"
        return f"[exercise in Colab]({colab_url(self.config, path)})"


def setup(app):
    app.add_directive("course-map", CourseMap)
    app.connect("doctree-resolved", drop_cdn_links)
    app.connect("build-finished", copy_offline_assets)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
