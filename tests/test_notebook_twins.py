"""Every chapter is paired with its .ipynb twin (the file Colab and Binder open), and they agree.

The .md is the source; ``tools/notebook_twins.py`` writes the twin and the chapter's first cell,
which installs ``backprop`` in Colab from the repository configured in ``_config.yml``. These
tests fail when a chapter was edited, or the repository changed, without running it again.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("notebook_twins", ROOT / "tools" / "notebook_twins.py")
twins = importlib.util.module_from_spec(_spec)
sys.modules["notebook_twins"] = twins
_spec.loader.exec_module(twins)

URL, BRANCH = twins.repository()
CHAPTERS = twins.chapters()
FIX = "run: python tools/notebook_twins.py"


def test_every_chapter_is_found():
    assert ROOT / "book" / "intro.md" in CHAPTERS


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.name)
def test_chapter_is_paired_and_installs_backprop_first(md):
    text = md.read_text(encoding="utf-8")
    assert twins.front_matter(text)["jupytext"].get("formats") == twins.FORMATS, \
        f"{md.name} is not paired (formats: {twins.FORMATS}): {FIX}"
    first = twins.twin(text).cells[0]
    assert first.cell_type == "code" and twins.MARKER in first.source, \
        f"{md.name}: its first cell is not the Colab install cell: {FIX}"
    assert f"git+{URL}@{BRANCH}" in first.source, \
        f"{md.name}: the install cell does not point at {URL}@{BRANCH} (_config.yml): {FIX}"
    assert first.metadata.get("tags") == ["remove-cell"], f"{md.name}: the install cell must be tagged remove-cell"
    assert twins.expected_md(text, URL, BRANCH) == text, f"{md.name} is not as the script leaves it: {FIX}"


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.name)
def test_twin_is_in_sync(md):
    ipynb = md.with_suffix(".ipynb")
    assert ipynb.exists(), f"{ipynb.name} is missing (Colab opens only .ipynb files): {FIX}"
    ours, theirs = twins.cells(twins.twin(md.read_text(encoding="utf-8"))), twins.cells(nbformat.read(ipynb, as_version=4))
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert a == b, f"{ipynb.name} is out of date from cell {i} on ({a[0]} cell starting {a[1][:60]!r}): {FIX}"
    assert len(ours) == len(theirs), f"{ipynb.name} has {len(theirs)} cells, {md.name} {len(ours)}: {FIX}"


def test_install_cell_installs_only_when_backprop_is_missing():
    """The cell's code, run as IPython runs it: nothing here (backprop is installed), one
    ``%pip install`` from the configured repository where the package is missing (Colab)."""
    from IPython.core.inputtransformer2 import TransformerManager

    source = twins.install_cell(URL, BRANCH).split("\n\n", 1)[1].rsplit("```", 1)[0]
    code = TransformerManager().transform_cell(source)  # %pip -> get_ipython().run_line_magic(...)
    magics = []

    class Shell:
        def run_line_magic(self, name, line):
            magics.append((name, line))

    exec(code, {"get_ipython": Shell})
    assert magics == []
    exec(code.replace('find_spec("backprop")', 'find_spec("no_such_package_here")'), {"get_ipython": Shell})
    assert magics == [("pip", f'install -q "backprop @ git+{URL}@{BRANCH}"')]


def test_script_is_idempotent_and_follows_the_configured_repository():
    text = (ROOT / "book" / "intro.md").read_text(encoding="utf-8")
    once = twins.expected_md(text, "https://github.com/otra/copia", "dev")
    assert twins.expected_md(once, "https://github.com/otra/copia", "dev") == once
    assert once.count(twins.MARKER) == 1 and '"backprop @ git+https://github.com/otra/copia@dev"' in once
    assert URL not in twins.twin(once).cells[0].source
    # the rest of the chapter is untouched
    strip = lambda t: re.sub(r"```\{code-cell\} ipython3\n:tags: \[remove-cell\]\n\n# Colab y Binder.*?```\n\n", "", t, flags=re.S)
    assert strip(once).replace(f"  formats: {twins.FORMATS}\n", "") == strip(text).replace(f"  formats: {twins.FORMATS}\n", "")
