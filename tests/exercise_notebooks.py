"""Make test submissions from the exercise notebooks: filled in from the master, blank, broken."""
from __future__ import annotations

import json
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]


def master_solutions(master: pathlib.Path) -> list[str]:
    """Code of each solution cell of a master notebook, with the solution markers removed."""
    cells, inside, out = json.loads(master.read_text())["cells"], False, []
    for cell in cells:
        text = "".join(cell["source"])
        if cell["cell_type"] == "raw" and text.strip() == "# BEGIN SOLUTION":
            inside = True
        elif cell["cell_type"] == "raw" and text.strip() == "# END SOLUTION":
            inside = False
        elif inside and cell["cell_type"] == "code":
            out.append(re.sub(r"\n?[ \t]*# (BEGIN|END) SOLUTION[^\n]*", "", text))
    return out


def answer_cells(nb: dict) -> list[int]:
    """Indices of the student's code answer cells (those containing ``...``)."""
    return [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code" and "..." in "".join(c["source"])]


def filled_in(exercise: pathlib.Path, master: pathlib.Path, replace: dict[int, str] | None = None) -> dict:
    """The student notebook with every answer taken from the master (answer k replaced by
    ``replace[k]`` where given)."""
    nb = json.loads(exercise.read_text())
    solutions = master_solutions(master)
    slots = answer_cells(nb)
    assert len(slots) == len(solutions), f"{exercise.name}: {len(slots)} answer cells, {len(solutions)} solutions"
    for k, (i, code) in enumerate(zip(slots, solutions)):
        nb["cells"][i]["source"] = (replace or {}).get(k, code)
    return nb
