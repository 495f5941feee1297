"""Keep the book's executed outputs honest when the package changes.

myst-nb caches executed notebooks keyed on their code cells only, so editing ``code/`` would leave
the site showing outputs of the old package. This extension keeps a fingerprint of ``code/`` and
``requirements.txt`` next to the cache; when it changes, it empties the execution cache and has
Sphinx re-read every chapter, so every cell runs again against the current package.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

WATCHED = ["code", "requirements.txt", "pyproject.toml"]


def fingerprint(root: Path) -> str:
    """SHA-256 over the paths and contents of every watched file."""
    h = hashlib.sha256()
    for entry in WATCHED:
        path = root / entry
        files = sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts) if path.is_dir() else [path]
        for f in files:
            if f.exists():
                h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def _stamp(app) -> Path:
    return Path(app.outdir).parent / ".code-fingerprint"


def _cache_dir(app) -> Path:
    configured = app.config.nb_execution_cache_path
    return Path(configured) if configured else Path(app.outdir).parent / ".jupyter_cache"


def on_config_inited(app, config) -> None:
    app.code_fingerprint = fingerprint(Path(app.srcdir))
    stamp = _stamp(app)
    previous = stamp.read_text().strip() if stamp.exists() else None
    app.code_changed = previous != app.code_fingerprint
    if app.code_changed and previous is not None:
        logger.info("cache_guard: code/ changed since the last build: clearing the execution cache")
        shutil.rmtree(_cache_dir(app), ignore_errors=True)


def on_env_get_outdated(app, env, added, changed, removed):
    if getattr(app, "code_changed", False):
        return sorted(set(env.found_docs) - set(added) - set(changed))
    return []


def on_build_finished(app, exception) -> None:
    if exception is None:
        _stamp(app).parent.mkdir(parents=True, exist_ok=True)
        _stamp(app).write_text(app.code_fingerprint + "\n")


def setup(app):
    app.connect("config-inited", on_config_inited, priority=100)  # before myst-nb opens its cache
    app.connect("env-get-outdated", on_env_get_outdated)
    app.connect("build-finished", on_build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
