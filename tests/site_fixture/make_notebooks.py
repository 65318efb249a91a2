"""Write the fixture's notebooks, executed, with their outputs (they are committed that way and
the fixture book does not execute them). Run from anywhere with the project's environment:

    .venv/bin/python tests/site_fixture/make_notebooks.py
"""
import pathlib

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = pathlib.Path(__file__).resolve().parent

NOTEBOOKS = {
    "raising": [
        new_markdown_cell("# A cell that raises, and stderr\n\nThe second cell writes to stderr; the third raises."),
        new_code_cell('print("this line is fine")'),
        new_code_cell('import sys\n\nprint("a warning that a reader should not see", file=sys.stderr)'),
        new_code_cell("1 / 0"),
    ],
    "no_alt": [
        new_markdown_cell("# Images without alt text\n\nA Markdown image without alt text:\n\n![](dot.png)\n\n"
                          "and a figure output whose cell has no `mystnb.image.alt` metadata:"),
        new_code_cell('from IPython.display import Image\n\nImage(filename="dot.png")'),
    ],
    "promises": [
        new_markdown_cell("# Broken promises\n\nA widget with no static figure before it, an animation of a "
                          "single frame (and no alt text), a working audio player and one without a source."),
        new_code_cell('import ipywidgets as W\n\nW.IntSlider(value=3, max=10, description="t")'),
        new_code_cell(
            "import matplotlib\n\nmatplotlib.use(\"Agg\")\nimport matplotlib.pyplot as plt\n"
            "from IPython.display import HTML\nfrom matplotlib.animation import FuncAnimation\n\n"
            "fig, ax = plt.subplots(figsize=(2, 2), dpi=40)\nplt.close(fig)\n"
            "anim = FuncAnimation(fig, lambda i: ax.plot([0, 1], [0, i]), frames=1)\nHTML(anim.to_jshtml())"),
        new_code_cell("import numpy as np\nfrom IPython.display import Audio\n\n"
                      "Audio(np.sin(2 * np.pi * 440 * np.arange(800) / 8000), rate=8000)"),
        new_code_cell('HTML("<audio controls></audio>")'),
    ],
}

for name, cells in NOTEBOOKS.items():
    nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    NotebookClient(nb, allow_errors=True, resources={"metadata": {"path": str(HERE)}}).execute()
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"
    nbformat.write(nb, HERE / f"{name}.ipynb")
    print("wrote", HERE / f"{name}.ipynb")
