"""The built site in a real browser, with no internet: what a reader on a plane sees.

Serves the built book (``_build/html``, or ``$BOOK_HTML_DIR``) on localhost and drives headless
Chromium (Playwright for Python with Debian's ``/usr/bin/chromium``, or ``$CHROMIUM_PATH``)
through every page it finds:

- no console error and no uncaught exception; no request to another host (they are blocked and
  reported, so the test means the same on a machine with internet);
- every page has its title (the ``<title>`` names the page's ``<h1>``);
- MathJax rendered every formula (each ``.math`` element holds an ``mjx-container``, no
  ``mjx-merror``) and no raw ``\\frac``, ``\\partial``, ``$$`` or ``\\begin{`` is left in the text
  outside code;
- every image decoded with a non-zero size; outputs are clean text (no Jupyter widget, a progress
  bar prints one line, not one per redraw);
- every internal link resolves, ``#fragment`` included;
- every chapter (a notebook) has launch buttons for the repository and branch of ``_config.yml``:
  Colab and Binder open that chapter's ``.ipynb``, Live Code (Thebe) starts on that repository;
  download buttons (.ipynb and .md) and a repository button;
- the search page finds "backward".

It saves a screenshot of each chapter's first screen under ``artifacts/screenshots/``. Build the
book first: ``jupyter-book build . -W -n --keep-going``.
"""

from __future__ import annotations

import functools
import html.parser
import http.server
import os
import re
import threading
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SITE = (ROOT / os.environ.get("BOOK_HTML_DIR", "_build/html")).resolve()
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))  # e.g. google-chrome on GitHub
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
# Headless flags for this machine: no sandbox as root, and no background connections to Google.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
RAW_TEX = ["\\frac", "\\partial", "$$", "\\begin{"]
TIMEOUT_MS = 60_000  # the machine may be loaded: generous, so that only real failures fail


def _cannot_run(reason: str) -> None:
    """Skip, with the reason; in CI (``CI`` set), where .ci/run builds the site first, fail."""
    if os.environ.get("CI"):
        pytest.fail(f"the browser test cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


if not (SITE / "index.html").is_file():
    _cannot_run(f"build the book first: jupyter-book build . -W -n --keep-going (no {SITE}/index.html; "
                f"BOOK_HTML_DIR chooses another site)")
if not CHROMIUM.is_file():
    _cannot_run(f"no chromium at {CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)")
try:
    from playwright import sync_api
except ImportError:
    _cannot_run("no Playwright for Python: pip install -r requirements.txt")


def _pages() -> list[str]:
    """Every HTML page of the site, as a path relative to it (assets and sources excluded)."""
    return sorted(p.relative_to(SITE).as_posix() for p in SITE.rglob("*.html")
                  if not p.relative_to(SITE).parts[0].startswith("_"))


def _is_notebook(md: Path) -> bool:
    text = md.read_text(encoding="utf-8")
    match = re.match(r"---\n(.*?\n)---\n", text, re.S)
    return bool(match) and "kernelspec" in (yaml.safe_load(match.group(1)) or {})


PAGES = _pages()
# Chapters that are notebooks: pages book/<name>.html whose source book/<name>.md has a kernelspec.
CHAPTERS = [p for p in PAGES if p.startswith("book/") and (ROOT / p).with_suffix(".md").is_file()
            and _is_notebook((ROOT / p).with_suffix(".md"))]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


# --- a static server and a browser -------------------------------------------------------------

class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(SITE)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# What a page shows once loaded and typeset: computed in the page, after MathJax has finished.
_INSPECT = r"""async () => {
  const out = {};
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  out.mathjax = !!(window.MathJax && MathJax.startup);
  const math = Array.from(document.querySelectorAll('.math'));
  out.math = math.length;
  out.mathUnrendered = math.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.slice(0, 80));
  out.mathErrors = Array.from(document.querySelectorAll('mjx-merror')).map(e => e.textContent.slice(0, 80));
  // the text outside code and outside rendered math
  const skip = 'pre, code, script, style, textarea, mjx-container, .highlight';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const parts = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode())
    if (!n.parentElement.closest(skip)) parts.push(n.nodeValue);
  out.text = parts.join(' ');
  out.h1 = Array.from(document.querySelectorAll('main h1, article h1, h1'))
    .map(h => h.textContent.replace(/#$/, '').trim()).filter(t => t)[0] || null;
  out.images = await Promise.all(Array.from(document.images).map(async img => {
    img.loading = 'eager';
    let decoded = true;
    try { await img.decode(); } catch (e) { decoded = false; }
    return {src: img.currentSrc || img.src, decoded, width: img.naturalWidth, height: img.naturalHeight};
  }));
  out.links = Array.from(document.querySelectorAll('a[href]')).map(a => a.href);
  const href = sel => Array.from(document.querySelectorAll(sel)).map(a => a.href);
  out.colab = href('a[href*="colab"].dropdown-item');
  out.binder = href('a[href*="/v2/"].dropdown-item');
  out.thebeButton = !!document.querySelector('.btn-launch-thebe');
  const thebe = document.querySelector('script[type="text/x-thebe-config"]');
  out.thebeConfig = thebe ? thebe.textContent : null;
  out.repository = href('a.btn-source-repository-button');
  out.downloadIpynb = href('a.btn-download-notebook-button');
  out.downloadMd = href('a.btn-download-source-button');
  out.outputs = Array.from(document.querySelectorAll('.cell_output pre')).map(p => p.textContent);
  out.figureReprs = Array.from(document.querySelectorAll('.cell_output, figure, .figure'))
    .map(e => (e.textContent.match(/<(matplotlib\.figure\.)?Figure size [^>]*>/) || [])[0]).filter(t => t);
  out.widgets = document.querySelectorAll('script[type^="application/vnd.jupyter.widget"], .jupyter-widgets').length;
  return out;
}"""

_VISITS: dict[str, dict] = {}


def visit(browser, server, page_path: str) -> dict:
    """Load one page (once per test session) and return what it showed."""
    if page_path in _VISITS:
        return _VISITS[page_path]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors, offsite = [], []
    page.on("console", lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))

    def route(r):
        if urlsplit(r.request.url).hostname in ("127.0.0.1", "localhost"):
            r.continue_()
        else:
            offsite.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(server + page_path, wait_until="load")
    refresh = re.search(r'http-equiv="refresh"\s+content="\d+;\s*url=([^"]+)"',
                        (SITE / page_path).read_text(encoding="utf-8"), re.I)
    if refresh:  # a redirect page (index.html -> book/intro.html): wait until the target is loaded
        target = urljoin(server + page_path, refresh.group(1))
        page.wait_for_url(target, wait_until="load")
    result = page.evaluate(_INSPECT)
    result.update(title=page.title(), url=page.url, errors=errors, offsite=offsite)
    if page_path in CHAPTERS:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / (page_path.replace("/", "-")[:-5] + ".png")))
    context.close()
    _VISITS[page_path] = result
    return result


# --- every page ------------------------------------------------------------------------------------

@pytest.mark.parametrize("page_path", PAGES)
def test_page_loads_cleanly_offline(browser, server, page_path):
    seen = visit(browser, server, page_path)
    assert not seen["offsite"], f"{page_path} requests other hosts (the site must work offline): {seen['offsite']}"
    assert not seen["errors"], f"{page_path}: console errors: {seen['errors']}"


@pytest.mark.parametrize("page_path", PAGES)
def test_page_has_its_title(browser, server, page_path):
    seen = visit(browser, server, page_path)
    title = seen["title"].strip()
    assert title and "<no title>" not in title, f"{page_path} has no <title>"
    assert seen["h1"], f"{page_path} has no <h1>"
    name = re.sub(r"^[\d.]+\s+", "", seen["h1"])  # "1.2 Nombre" -> "Nombre"
    assert name in title, f"{page_path}: <title> {title!r} does not name its <h1> {seen['h1']!r}"


@pytest.mark.parametrize("page_path", PAGES)
def test_math_is_rendered(browser, server, page_path):
    seen = visit(browser, server, page_path)
    if seen["math"]:
        assert seen["mathjax"], f"{page_path} has {seen['math']} formulas but MathJax did not load"
    assert not seen["mathUnrendered"], f"{page_path}: formulas MathJax did not typeset: {seen['mathUnrendered']}"
    assert not seen["mathErrors"], f"{page_path}: MathJax errors: {seen['mathErrors']}"
    raw = [t for t in RAW_TEX if t in seen["text"]]
    assert not raw, f"{page_path}: raw TeX {raw} left in the text, e.g. ...{_around(seen['text'], raw[0])}..."


@pytest.mark.parametrize("page_path", PAGES)
def test_images_are_decoded(browser, server, page_path):
    seen = visit(browser, server, page_path)
    broken = [i["src"] for i in seen["images"] if not i["decoded"] or not i["width"] or not i["height"]]
    assert not broken, f"{page_path}: images not decoded or of size zero: {broken}"


@pytest.mark.parametrize("page_path", PAGES)
def test_outputs_are_clean_text(browser, server, page_path):
    seen = visit(browser, server, page_path)
    assert not seen["widgets"], f"{page_path} has Jupyter widget outputs: they need widget scripts from a CDN"
    assert not seen["figureReprs"], (f"{page_path}: a figure shows as text {seen['figureReprs'][0]!r}, not as an "
                                     f"image (run `%matplotlib inline` in a first cell, see CONTRIBUTING)")
    for text in seen["outputs"]:
        bars = [line for line in text.splitlines() if re.search(r"\d+%\|", line)]
        assert len(bars) <= 1, f"{page_path}: a progress bar printed every redraw:\n" + "\n".join(bars[:5])
        assert "IProgress not found" not in text, f"{page_path}: tqdm's ipywidgets warning in an output"


@pytest.mark.parametrize("page_path", PAGES)
def test_internal_links_resolve(browser, server, page_path):
    seen = visit(browser, server, page_path)
    broken = []
    for link in seen["links"]:
        parts = urlsplit(link)
        if not link.startswith(server):
            continue
        target = SITE / unquote(parts.path).lstrip("/")
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            broken.append(f"{link} (no such file)")
        elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in _anchors(target):
            broken.append(f"{link} (no #{parts.fragment} in {target.relative_to(SITE)})")
    assert not broken, f"{page_path}: links that do not resolve: {broken}"


@pytest.mark.parametrize("page_path", PAGES)
def test_repository_button(browser, server, page_path):
    seen = visit(browser, server, page_path)
    assert seen["repository"] == [CONFIG["repository"]["url"]], \
        f"{page_path}: repository button {seen['repository']}, expected the configured {CONFIG['repository']['url']}"


# --- every chapter ----------------------------------------------------------------------------------

def _expected_launch(chapter: str) -> tuple[str, str, str, str]:
    url, branch = CONFIG["repository"]["url"].rstrip("/"), CONFIG["repository"].get("branch", "main")
    org_repo = urlsplit(url).path.strip("/")
    buttons = CONFIG["launch_buttons"]
    ui = {"jupyterlab": "lab/tree", "classic": "tree"}[buttons.get("notebook_interface", "classic")]
    ipynb = chapter[:-5] + ".ipynb"
    colab = f"{buttons['colab_url'].rstrip('/')}/github/{org_repo}/blob/{branch}/{ipynb}"
    binder = f"{buttons['binderhub_url'].rstrip('/')}/v2/gh/{org_repo}/{branch}?urlpath={ui}/{ipynb}"
    return org_repo, branch, colab, binder


@pytest.mark.skipif(not CHAPTERS, reason="no chapter that is a notebook in this site")
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_launch_buttons_open_this_chapter_in_the_configured_repository(browser, server, chapter):
    seen = visit(browser, server, chapter)
    org_repo, branch, colab, binder = _expected_launch(chapter)
    assert seen["colab"] == [colab], f"{chapter}: Colab button {seen['colab']}, expected {colab}"
    assert seen["binder"] == [binder], f"{chapter}: Binder button {seen['binder']}, expected {binder}"
    assert seen["thebeButton"], f"{chapter} has no Live Code button"
    config = seen["thebeConfig"] or ""
    assert f'repo: "{org_repo}"' in config and f'ref: "{branch}"' in config, \
        f"{chapter}: Live Code starts on another repository or branch: {config}"
    assert (ROOT / chapter).with_suffix(".ipynb").is_file(), \
        f"{chapter}: Colab opens {chapter[:-5]}.ipynb, which does not exist: python tools/notebook_twins.py"


@pytest.mark.skipif(not CHAPTERS, reason="no chapter that is a notebook in this site")
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_download_buttons(browser, server, chapter):
    seen = visit(browser, server, chapter)
    base = server + "_sources/" + chapter[:-5]
    assert seen["downloadIpynb"] == [base + ".ipynb"], f"{chapter}: .ipynb download {seen['downloadIpynb']}"
    assert seen["downloadMd"] == [base + ".md"], f"{chapter}: .md download {seen['downloadMd']}"
    for link in seen["downloadIpynb"] + seen["downloadMd"]:
        assert (SITE / urlsplit(link).path.lstrip("/")).is_file(), f"{chapter}: {link} is not in the site"


def test_every_chapter_was_screenshot(browser, server):
    for chapter in CHAPTERS:
        visit(browser, server, chapter)
        shot = SCREENSHOTS / (chapter.replace("/", "-")[:-5] + ".png")
        assert shot.is_file() and shot.stat().st_size > 10_000, f"no screenshot of {chapter} in {shot}"


# --- search ----------------------------------------------------------------------------------------

def test_search_finds_backward(browser, server):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server + "search.html?q=backward", wait_until="load")
    page.wait_for_function("() => document.querySelector('#search-results .search-summary') !== null"
                           " || document.querySelectorAll('#search-results ul.search li').length > 0")
    page.wait_for_function("() => !document.querySelector('#search-results h2')"
                           " || document.querySelector('#search-results h2').textContent.trim() !== 'Buscando'")
    hits = page.eval_on_selector_all("#search-results ul.search li a", "as => as.map(a => a.href)")
    summary = page.text_content("#search-results") or ""
    context.close()
    assert not errors, f"the search page logged errors: {errors}"
    assert hits, f"searching 'backward' found nothing: {summary.strip()[:300]}"
    assert any("/book/" in h for h in hits), f"searching 'backward' found no chapter: {hits}"


# --- helpers ---------------------------------------------------------------------------------------

class _Anchors(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key in ("id", "name") and value:
                self.ids.add(value)


@functools.lru_cache(maxsize=None)
def _anchors(path: Path) -> frozenset:
    parser = _Anchors()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return frozenset(parser.ids)


def _around(text: str, needle: str, width: int = 40) -> str:
    at = text.find(needle)
    return text[max(0, at - width): at + len(needle) + width].replace("\n", " ")
