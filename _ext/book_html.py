"""Small fixes to the HTML book: MathJax served locally, and a clean browser console.

1. Serve MathJax from the built book so math renders offline.

MathJax 3 comes from the pinned PyPI package ``django-static-mathjax`` (a plain copy of
MathJax's ``es5`` build; Django itself is not needed). After an HTML build we copy the
parts a page can load into ``_build/html/_mathjax/``; ``mathjax_path`` in ``_config.yml``
points there. We deliberately do not put it under ``_static/``: Jupyter Book 1 adds every
``.js`` file found there to every page.

2. Jupyter Book 1.0 registers some inline scripts twice (sphinx-thebe's ``const THEBE_JS_URL``),
which the browser reports as a SyntaxError on every page. We drop exact duplicates.

3. A multi-line display formula (one with ``\\``) is wrapped by Sphinx in ``split``, where
MathJax refuses ``\\tag``. For such formulas we move the tag outside the ``split``.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path

from docutils import nodes

# The speech engine, SVG/MathML bundles and "full" bundles are never loaded by tex-chtml.js.
_SKIP = ("sre", "*-svg*.js", "mml-*.js", "tex-mml-*.js", "*-full*.js", "node-main.js")


def mathjax_source() -> Path:
    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "MathJax is missing: install the pinned requirements (make book does it)."
        )
    src = Path(list(spec.submodule_search_locations)[0]) / "static" / "mathjax" / "es5"
    if not (src / "tex-chtml.js").is_file():
        raise RuntimeError(f"MathJax found at {src}, but tex-chtml.js is not there")
    return src


def _copy_mathjax(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    dst = Path(app.outdir) / "_mathjax"
    shutil.copytree(
        mathjax_source(), dst, dirs_exist_ok=True, ignore=shutil.ignore_patterns(*_SKIP)
    )


def _script_key(script) -> tuple:
    attributes = getattr(script, "attributes", {}) or {}
    # Priority is left out on purpose.
    # Inline scripts have filename None or "" depending on who added them.
    return (str(getattr(script, "filename", script) or ""), tuple(sorted((k, str(v)) for k, v in attributes.items())))


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple] = set()
    unique = []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


_TAG = re.compile(r"\\tag\{([^{}]*)\}")


def _tag_outside_split(app, doctree, docname) -> None:
    for node in doctree.findall(nodes.math_block):
        text = node.astext()
        tags = _TAG.findall(text)
        if node.get("nowrap") or len(tags) != 1 or "\\\\" not in text or "\n\n" in text.strip():
            continue
        body = _TAG.sub("", text).strip()
        node["nowrap"] = True
        node.children = [nodes.Text(
            "\\[\\begin{split}" + body + "\\end{split}\\tag{" + tags[0] + "}\\]"
        )]


def setup(app):
    mathjax_source()  # fail early, with a clear message, if MathJax is not installed
    app.connect("build-finished", _copy_mathjax)
    app.connect("doctree-resolved", _tag_outside_split)
    # Run after the extensions that add scripts (default priority 500).
    app.connect("html-page-context", _drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
