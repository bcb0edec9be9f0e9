"""The run directory's layout lives in one place (latentlab/run/layout.py): every path of a run is
named by a `RunLayout`, and no other module spells one (read from the source, so it stays true)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from latentlab.run import layout
from latentlab.run.layout import RunLayout

ROOT = Path(__file__).resolve().parents[2]
SEARCHED = ("latentlab", "devtools")
OWNERS = {ROOT / "latentlab" / "run"}  # the run package builds every path from layout.py's names
NAMES = {layout.CONFIG, layout.METRICS, layout.EVENTS, layout.SAMPLES, layout.CHECKPOINTS, layout.LATEST,
         layout.BEST, layout.TB, layout.LOCK}
# A path written by hand: a run entry inside a longer path, or a step file's name (step-00001200.png).
IN_PATH = re.compile(r"(^|/)(" + "|".join(re.escape(n) for n in sorted(NAMES)) + r")(/|$)")
STEP_FILE = re.compile(r"(^|/)step-(\*|$|\d)")
# Folders of the same name that are not a run's: torch.hub keeps downloaded weights in checkpoints/.
NOT_A_RUN = {("latentlab/metrics/quality.py", "checkpoints")}


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def _path_operands(tree: ast.AST) -> set[int]:
    """The constants used as a path: an operand of `/`, or a positional argument of a call."""
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            ids.update((id(node.left), id(node.right)))
        elif isinstance(node, ast.Call):
            ids.update(id(arg) for arg in node.args)
    return ids


def hand_spelled(source: str) -> list[tuple[int, str]]:
    """(line, text) of every string constant in `source` that spells a run path. Prose (text with a
    space: messages, help, comments, docstrings) may name the files, and a bare word such as
    "samples" may be a dict key; code may not build a path from them."""
    tree = ast.parse(source)
    docs, operands = _docstrings(tree), _path_operands(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            text = node.value
            if re.search(r"\s", text):
                continue
            name = text.strip("/")
            if name in NAMES:
                # a file name anywhere; a folder's when joined ("samples") or in a path ("/tb" of an f-string)
                spelled = "." in name or id(node) in operands or name != text
            else:
                spelled = bool(IN_PATH.search(text) or STEP_FILE.search(text))
            if spelled:
                found.append((node.lineno, text))
    return sorted(found)


def test_the_checker_catches_what_it_is_for():
    spelled = hand_spelled('p = run / "checkpoints" / "latest.safetensors"\n'
                           'q = run / "samples" / f"step-{step:08d}.png"\n'
                           'r = sorted(folder.glob("step-*.png"))\n'
                           'c = run / "config.toml"\n'
                           's = Path(run, "checkpoints/best.safetensors")\n'
                           'message = f"{run}: not a run (no config.toml or metrics.jsonl)"\n'
                           'tags = {"step-size": 1, "samples": 64}\n'
                           'n = figures["samples"]\n'
                           'tb = f"{run}/tb"\n'
                           'BEST_NAME = "best.safetensors"\n')
    assert [line for line, _ in spelled] == [1, 1, 2, 2, 3, 4, 5, 9, 10]


def test_no_module_outside_run_spells_a_run_path():
    offenders = []
    for top in SEARCHED:
        for path in sorted((ROOT / top).rglob("*.py")):
            if any(owner in path.parents for owner in OWNERS):
                continue
            where = path.relative_to(ROOT).as_posix()
            for line, text in hand_spelled(path.read_text(encoding="utf-8")):
                if (where, text) not in NOT_A_RUN:
                    offenders.append(f"{path.relative_to(ROOT)}:{line}: {text!r}")
    assert not offenders, "use latentlab.run.layout.RunLayout instead:\n" + "\n".join(offenders)


def test_layout_names_the_contract(tmp_path):
    run = RunLayout(tmp_path / "run")
    rel = {name: getattr(run, name).relative_to(run.root).as_posix()
           for name in ("config", "metrics", "events", "samples", "checkpoints", "latest", "best", "tb", "lock")}
    assert rel == {"config": "config.toml", "metrics": "metrics.jsonl", "events": "events.jsonl",
                   "samples": "samples", "checkpoints": "checkpoints", "latest": "checkpoints/latest.safetensors",
                   "best": "checkpoints/best.safetensors", "tb": "tb", "lock": ".lock"}
    assert run.sample(1200).relative_to(run.root).as_posix() == "samples/step-00001200.png"
    assert run.sample(1200, "recon").name == "recon-00001200.png"
    assert run.checkpoint(1200).relative_to(run.root).as_posix() == "checkpoints/step-00001200.safetensors"
    assert not run.is_run() and run.grids() == []


def test_grids_are_the_step_grids_in_step_order_within_bounds(tmp_path):
    run = RunLayout(tmp_path)
    run.samples.mkdir()
    for step in (30, 3, 12):
        run.sample(step).write_bytes(b"png")
        run.sample(step, "recon").write_bytes(b"png")
    (run.samples / "notes.txt").write_text("")
    assert run.grids() == [(3, run.sample(3)), (12, run.sample(12)), (30, run.sample(30))]
    assert run.grids(start=4, stop=30) == [(12, run.sample(12)), (30, run.sample(30))]
