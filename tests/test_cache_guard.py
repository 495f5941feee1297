"""The book's execution cache follows the package: _ext/cache_guard.py."""

import importlib.util
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("cache_guard", ROOT / "_ext" / "cache_guard.py")
cache_guard = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cache_guard)


def tree(tmp_path, source="x = 1\n"):
    (tmp_path / "code" / "backprop").mkdir(parents=True, exist_ok=True)
    (tmp_path / "code" / "backprop" / "m.py").write_text(source)
    (tmp_path / "requirements.txt").write_text("torch\n")
    return tmp_path


def app_for(root):
    out = root / "_build" / "html"
    return SimpleNamespace(srcdir=str(root), outdir=str(out), config=SimpleNamespace(nb_execution_cache_path=""))


def test_fingerprint_follows_the_package_and_the_requirements(tmp_path):
    root = tree(tmp_path)
    first = cache_guard.fingerprint(root)
    assert cache_guard.fingerprint(root) == first
    (root / "code" / "backprop" / "m.py").write_text("x = 2\n")
    second = cache_guard.fingerprint(root)
    assert second != first
    (root / "requirements.txt").write_text("torch==2.13.0\n")
    assert cache_guard.fingerprint(root) != second
    (root / "code" / "backprop" / "__pycache__").mkdir()
    (root / "code" / "backprop" / "__pycache__" / "m.pyc").write_bytes(b"\0")
    assert cache_guard.fingerprint(root) == cache_guard.fingerprint(root)  # bytecode ignored
    third = cache_guard.fingerprint(root)
    (root / "code" / "backprop" / "__pycache__" / "m.pyc").write_bytes(b"\1")
    assert cache_guard.fingerprint(root) == third


def test_a_code_change_clears_the_cache_and_rereads_every_chapter(tmp_path):
    root = tree(tmp_path)
    app = app_for(root)
    cache = root / "_build" / ".jupyter_cache"
    cache.mkdir(parents=True)
    (cache / "global.db").write_text("old outputs")
    env = SimpleNamespace(found_docs={"book/a", "book/b", "book/c"})

    cache_guard.on_config_inited(app, app.config)  # first build: nothing to compare with
    assert (cache / "global.db").exists()
    cache_guard.on_build_finished(app, None)

    app = app_for(root)
    cache_guard.on_config_inited(app, app.config)  # nothing changed: cache kept, nothing forced
    assert (cache / "global.db").exists()
    assert cache_guard.on_env_get_outdated(app, env, set(), set(), set()) == []

    (root / "code" / "backprop" / "m.py").write_text("x = 3\n")
    app = app_for(root)
    cache_guard.on_config_inited(app, app.config)
    assert not cache.exists()
    assert cache_guard.on_env_get_outdated(app, env, {"book/a"}, set(), set()) == ["book/b", "book/c"]


def test_a_failed_build_does_not_record_the_new_fingerprint(tmp_path):
    root = tree(tmp_path)
    app = app_for(root)
    cache_guard.on_config_inited(app, app.config)
    cache_guard.on_build_finished(app, RuntimeError("a cell failed"))
    assert not (root / "_build" / ".code-fingerprint").exists()
