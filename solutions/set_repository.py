"""Point every notebook's setup cell at the repository configured in _config.yml.

    python solutions/set_repository.py

The repository URL is configured in one place, ``repository.url`` in ``_config.yml``. The book's
launch buttons read it from there; the first cell of each notebook (book/, exercises/,
solutions/), which installs the course package in Colab, needs it written out. After changing
the URL, run this script (tests/test_book.py fails until the two agree).
"""
from __future__ import annotations

import pathlib
import re

import nbformat
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
INSTALL = re.compile(r"git\+https://[^\"'\s]+")


def main() -> None:
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"].rstrip("/")
    for folder in ("book", "exercises", "solutions"):
        for path in sorted((ROOT / folder).glob("*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            setup = next(c for c in nb.cells if c.cell_type == "code")
            new = INSTALL.sub(f"git+{url}", setup.source)
            if new != setup.source:
                setup.source = new
                nbformat.write(nb, path)
                print(f"updated {path.relative_to(ROOT)}")
    print(f"setup cells install from {url}; for exercises/, also run `make exercises` to keep them in sync")


if __name__ == "__main__":
    main()
