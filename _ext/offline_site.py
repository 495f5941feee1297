"""Make the built site load cleanly in a browser, with no internet.

A reader on a plane, and the browser test on a machine without internet, must see every page
complete: rendered math, every output, and no console errors. This extension:

- has progress bars print plain text: it sets ``BACKPROP_PROGRESS=text`` before any notebook runs
  (the kernels inherit it), so ``backprop.entrenar_FFNN`` prints its bar's final state as one line
  of text instead of a Jupyter widget, which would need widget scripts from a CDN;
- removes duplicated ``<script>`` tags: sphinx-thebe registers its inline configuration twice (once
  with the file name ``None``, once with ``''``, which Sphinx does not see as equal), and the
  second ``const THEBE_JS_URL`` throws "Identifier 'THEBE_JS_URL' has already been declared";
- warns (an error with ``-W``) when a page would load a script or a style sheet from another
  host, e.g. MathJax from a CDN if ``sphinx-mathjax-offline`` were missing, or ipywidgets' scripts.
  Thebe's own bundle is not a ``<script>`` of the page: it is fetched only when the reader clicks
  "Live Code", which needs the internet anyway (it starts a Binder kernel).
"""

from __future__ import annotations

import os

from sphinx.util import logging

logger = logging.getLogger(__name__)


def on_config_inited(app, config) -> None:
    os.environ["BACKPROP_PROGRESS"] = "text"


def _key(asset) -> tuple:
    attributes = getattr(asset, "attributes", {}) or {}
    return (getattr(asset, "filename", str(asset)) or "", getattr(asset, "priority", 500),
            tuple(sorted((k, str(v)) for k, v in attributes.items())))


def _remote(asset) -> str | None:
    name = str(getattr(asset, "filename", asset) or "")
    return name if name.startswith(("http://", "https://", "//")) else None


def on_html_page_context(app, pagename, templatename, context, doctree) -> None:
    for kind in ("script_files", "css_files"):
        assets = context.get(kind)
        if not isinstance(assets, list):
            continue
        seen, unique = set(), []
        for asset in assets:  # keep the first of each, in order
            if (key := _key(asset)) not in seen:
                seen.add(key)
                unique.append(asset)
        assets[:] = unique
        for asset in unique:
            if url := _remote(asset):
                logger.warning(f"the page would load {url} from the network, but the site must "
                               f"work offline: serve it from _static instead",
                               type="offline_site", location=pagename)


def setup(app):
    app.connect("config-inited", on_config_inited)
    app.connect("html-page-context", on_html_page_context, priority=900)  # after mathjax adds its script
    return {"parallel_read_safe": True, "parallel_write_safe": True}
