"""Give every chapter its Colab install cell and its .ipynb twin, from the chapter's .md.

Colab opens only .ipynb files, and a chapter opened there (or in Binder) must work on its own. For
each chapter ``book/<name>.md`` that is a notebook (its front matter has a ``kernelspec``), this
script, idempotently:

1. pairs it with jupytext: ``formats: ipynb,md:myst`` in its ``jupytext:`` header;
2. makes its first cell the install cell: when ``backprop`` is not importable (Colab, a bare
   Binder), ``%pip install`` the package from the repository set in ``_config.yml``
   (``repository: url, branch``); tagged ``remove-cell``, so the web page hides it while the
   notebook keeps it. Locally and in the book's build the package is installed, and it does nothing;
3. writes ``book/<name>.ipynb`` from the .md (no outputs, deterministic cell ids).

The .md is the source; the .ipynb is generated and committed. Run it after editing a chapter, or
after changing the repository in ``_config.yml``::

    python tools/notebook_twins.py                   # every chapter in _toc.yml
    python tools/notebook_twins.py book/intro.md     # some chapters
    python tools/notebook_twins.py --check           # change nothing; exit 1 if something is stale

``tests/test_notebook_twins.py`` fails when a chapter or its twin is out of date.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from pathlib import Path

import jupytext
import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
FORMATS = "ipynb,md:myst"
MARKER = "# Colab y Binder: instala `backprop` si falta"
_FRONT_MATTER = re.compile(r"\A---\n(.*?\n)---\n", re.S)


def repository(root: Path = ROOT) -> tuple[str, str]:
    """``(url, branch)`` of the repository configured in ``_config.yml``."""
    repo = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))["repository"]
    return repo["url"].rstrip("/"), repo.get("branch") or "main"


def install_cell(url: str, branch: str) -> str:
    """The install cell, as MyST Markdown (the .md's first cell)."""
    return (
        "```{code-cell} ipython3\n"
        ":tags: [remove-cell]\n"
        "\n"
        f"{MARKER} (en tu computador ya está y no hace nada).\n"
        "import importlib.util\n"
        "\n"
        'if importlib.util.find_spec("backprop") is None:\n'
        f'    %pip install -q "backprop @ git+{url}@{branch}"\n'
        "```\n"
    )


def chapters(root: Path = ROOT) -> list[Path]:
    """The .md files of ``_toc.yml`` (root first) that are notebooks (have a kernelspec)."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    files = []

    def walk(node):
        if isinstance(node, dict):
            for key in ("root", "file"):
                if isinstance(node.get(key), str):
                    files.append(node[key])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(toc)
    paths = [root / (f if f.endswith(".md") else f + ".md") for f in dict.fromkeys(files)]
    return [p for p in paths if p.exists() and is_notebook(p.read_text(encoding="utf-8"))]


def front_matter(text: str) -> dict:
    match = _FRONT_MATTER.match(text)
    return (yaml.safe_load(match.group(1)) or {}) if match else {}


def is_notebook(text: str) -> bool:
    return "kernelspec" in front_matter(text)


def _pair(text: str, name: str) -> str:
    """Add ``formats: ipynb,md:myst`` to the ``jupytext:`` block of the front matter."""
    jt = front_matter(text).get("jupytext") or {}
    if jt.get("formats") == FORMATS:
        return text
    header = _FRONT_MATTER.match(text).group(1)
    if "formats" in jt or not re.search(r"^jupytext:\n", header, re.M):
        raise SystemExit(f"{name}: expected the standard jupytext header (a block `jupytext:` "
                         f"without `formats`); add `formats: {FORMATS}` under it by hand")
    header = re.sub(r"^jupytext:\n", f"jupytext:\n  formats: {FORMATS}\n", header, count=1, flags=re.M)
    return f"---\n{header}---\n" + text[_FRONT_MATTER.match(text).end():]


def _without_install_cell(body: str) -> str:
    """``body`` without an install cell written by an earlier run (found by its marker)."""
    at = body.find(MARKER)
    if at < 0:
        return body
    start = body.rfind("```{code-cell}", 0, at)
    end = body.find("\n```\n", at)
    if start < 0 or end < 0:
        raise SystemExit(f"an install cell's marker ({MARKER!r}) is outside a code cell")
    return body[:start] + body[end + len("\n```\n"):].lstrip("\n")


def expected_md(text: str, url: str, branch: str, name: str = "chapter") -> str:
    """The chapter as this script leaves it: paired, install cell first (idempotent)."""
    text = _pair(text, name)
    end = _FRONT_MATTER.match(text).end()
    body = _without_install_cell(text[end:]).lstrip("\n")
    return text[:end] + "\n" + install_cell(url, branch) + "\n" + body


def twin(md_text: str) -> nbformat.NotebookNode:
    """The .ipynb twin of a chapter: its cells without outputs, ids derived from the content."""
    nb = jupytext.reads(md_text, fmt="md:myst")
    seen = set()
    for cell in nb.cells:
        digest = hashlib.sha1(f"{cell.cell_type}\0{cell.source}".encode()).hexdigest()
        cid, n = digest[:8], 1
        while cid in seen:
            cid, n = f"{digest[:8]}-{n}", n + 1
        seen.add(cid)
        cell.id = cid
    return nb


def cells(nb) -> list[tuple[str, str, dict]]:
    """What must agree between a chapter and its twin: each cell's type, source and metadata."""
    return [(c.cell_type, c.source, dict(c.metadata)) for c in nb.cells]


def stale(md: Path, url: str, branch: str) -> list[str]:
    """Why ``md`` or its twin is out of date (empty when both are up to date)."""
    text, problems = md.read_text(encoding="utf-8"), []
    rel = md.relative_to(ROOT) if md.is_relative_to(ROOT) else md
    if expected_md(text, url, branch, str(rel)) != text:
        problems.append(f"{rel}: not paired (formats: {FORMATS}) or its first cell is not the "
                        f"install cell for {url}@{branch}")
    ipynb = md.with_suffix(".ipynb")
    if not ipynb.exists():
        problems.append(f"{ipynb.relative_to(ROOT) if ipynb.is_relative_to(ROOT) else ipynb}: missing")
    elif cells(nbformat.read(ipynb, as_version=4)) != cells(twin(text)):
        problems.append(f"{ipynb.name}: its cells differ from {md.name}'s")
    return problems


def update(md: Path, url: str, branch: str) -> bool:
    """Rewrite ``md`` and its twin if needed; True if something changed."""
    text = md.read_text(encoding="utf-8")
    new = expected_md(text, url, branch, md.name)
    changed = new != text
    if changed:
        md.write_text(new, encoding="utf-8")
    ipynb = md.with_suffix(".ipynb")
    nb_text = jupytext.writes(twin(new), fmt="ipynb")
    if not ipynb.exists() or ipynb.read_text(encoding="utf-8") != nb_text:
        ipynb.write_text(nb_text, encoding="utf-8")
        changed = True
    return changed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("chapters", nargs="*", type=Path, help="book/<name>.md (default: every chapter in _toc.yml)")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if something is stale")
    args = parser.parse_args(argv)
    url, branch = repository()
    mds = [p.resolve() for p in args.chapters] or chapters()
    not_notebooks = [p for p in mds if not is_notebook(p.read_text(encoding="utf-8"))]
    if not_notebooks:
        parser.error("not a notebook (no kernelspec in its front matter): " + ", ".join(map(str, not_notebooks)))
    if args.check:
        problems = [p for md in mds for p in stale(md, url, branch)]
        print("\n".join(problems) or f"{len(mds)} chapters and their twins are up to date")
        if problems:
            print("run: python tools/notebook_twins.py", file=sys.stderr)
        return 1 if problems else 0
    for md in mds:
        print(f"{'updated' if update(md, url, branch) else 'up to date'}: {md.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
