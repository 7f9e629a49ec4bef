"""Build the HTML book exactly as ``make book`` does (warnings are errors) and check the result.

Static checks read the built files: every page of the toc is there, every internal link,
anchor and image resolves, MathJax is served locally and no page loads a script from the
network. A real-browser check then loads every page in headless Chromium from a local
server and asserts that MathJax typeset every formula and the console shows no errors.
"""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def toc_pages() -> list[str]:
    text = (ROOT / "_toc.yml").read_text()
    return re.findall(r"^\s*-?\s*(?:file|root):\s*([^\s#]+)", text, flags=re.M)


@pytest.fixture(scope="module")
def built_book() -> Path:
    jb = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run(
        [str(jb), "build", str(ROOT), "--warningiserror", "--keep-going", "--builder", "html"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, (
        "the book build failed or warned (warnings are errors):\n"
        + result.stdout[-6000:] + result.stderr[-4000:]
    )
    return HTML


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str]] = []  # (tag, url)
        self.ids: set[str] = set()
        self.scripts: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a and a["id"]:
            self.ids.add(a["id"])
        if tag == "a" and a.get("href"):
            self.refs.append((tag, a["href"]))
        if tag in ("img", "script") and a.get("src"):
            self.refs.append((tag, a["src"]))
            if tag == "script":
                self.scripts.append(a["src"])
        if tag == "link" and a.get("href") and "stylesheet" in (a.get("rel") or ""):
            self.refs.append((tag, a["href"]))


@functools.lru_cache(maxsize=None)
def parse(page: Path) -> _Links:
    p = _Links()
    p.feed(page.read_text(encoding="utf-8"))
    return p


def html_pages(html: Path) -> list[Path]:
    return sorted(p for p in html.rglob("*.html") if "_static" not in p.parts and "_mathjax" not in p.parts)


def test_every_toc_page_was_built(built_book):
    missing = [e for e in toc_pages() if not (built_book / f"{e}.html").exists()]
    assert not missing, f"pages in _toc.yml missing from the build: {missing}"
    assert (built_book / "index.html").exists()


def test_internal_links_anchors_and_images_resolve(built_book):
    broken = []
    for page in html_pages(built_book):
        for tag, url in parse(page).refs:
            parts = urlsplit(url)
            if parts.scheme or url.startswith(("//", "mailto:", "javascript:")):
                continue
            target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(built_book)}: <{tag}> {url}")
            elif parts.fragment and target.suffix == ".html" and tag == "a":
                if unquote(parts.fragment) not in parse(target).ids:
                    broken.append(f"{page.relative_to(built_book)}: anchor {url}")
    assert not broken, "broken internal references:\n" + "\n".join(broken[:50])


def test_mathjax_is_served_locally_and_no_script_comes_from_the_network(built_book):
    pages_with_math = 0
    for page in html_pages(built_book):
        scripts = parse(page).scripts
        remote = [s for s in scripts if urlsplit(s).scheme or s.startswith("//")]
        assert not remote, f"{page.name} loads scripts from the network: {remote}"
        mathjax = [s for s in scripts if s.endswith("tex-chtml.js")]
        if mathjax:
            pages_with_math += 1
            assert (page.parent / mathjax[0]).resolve().is_file(), f"{page.name}: {mathjax[0]} missing"
    assert pages_with_math > 0, "no page loads MathJax: is math rendered at all?"
    assert (built_book / "_mathjax" / "output" / "chtml" / "fonts" / "woff-v2").is_dir()


class _Text(HTMLParser):
    """The text a reader sees: everything outside <script>, <style> and tags' attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(page: Path) -> str:
    p = _Text()
    p.feed(page.read_text(encoding="utf-8"))
    return "".join(p.parts)


# Pages exempt from the harness check: none (every chapter follows the rule).
HARNESS_ALLOWLIST: set[str] = set()


def test_pages_show_no_test_harness_and_no_unfinished_progress_bar(built_book):
    problems = []
    for entry in toc_pages():
        if Path(entry).name in HARNESS_ALLOWLIST:
            continue
        text = visible_text(built_book / f"{entry}.html")
        for word in ("NBVAL", "nbval", "pytest", "test suite"):
            if word in text:
                problems.append(f"{entry}: shows {word!r}")
        for bar in re.findall(r"\d+%\|[^|\n]*\|\s*\d+/\d+[^\n]*", text):
            if not bar.startswith("100%") or re.search(r"\d\d:\d\d|/s\b", bar):
                problems.append(f"{entry}: shows the progress bar {bar[:60]!r}")
        if "{glue" in text:
            problems.append(f"{entry}: a glue role was not replaced by its value")
    assert not problems, "\n".join(problems)


def test_figure_code_is_collapsed_and_the_glossary_is_linked(built_book):
    chapter = (built_book / "chapters" / "05_backpropagation.html").read_text(encoding="utf-8")
    assert "tag_hide-input" in chapter, "hide-input cells are not marked in the HTML"
    glossary = parse(built_book / "chapters" / "glossary.html")
    assert "term-logit" in glossary.ids, "the glossary defines no term 'logit'"
    linking = [p for p in html_pages(built_book) if any("glossary.html#term-" in url for _, url in parse(p).refs)]
    assert len(linking) >= 5, f"only {len(linking)} pages link to the glossary"


@pytest.fixture(scope="module")
def local_server(built_book):
    handler = functools.partial(_QuietHandler, directory=str(built_book))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep pytest output readable
        pass


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip(
            "headless Chromium check skipped: install Debian's chromium and chromium-driver "
            "(`apt-get install chromium chromium-driver`; .ci/run does this)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--window-size=1280,900",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


def test_every_page_renders_math_in_chromium_without_console_errors(built_book, local_server, browser):
    problems = []
    typeset_pages = 0
    for page in html_pages(built_book):
        rel = page.relative_to(built_book).as_posix()
        browser.get(f"{local_server}/{rel}")
        state = browser.execute_async_script(
            """
            const done = arguments[arguments.length - 1];
            const report = () => {
              const maths = Array.from(document.querySelectorAll('.math'));
              done({
                maths: maths.length,
                untypeset: maths.filter(m => !m.querySelector('mjx-container')).length,
                containers: document.querySelectorAll('mjx-container').length,
                mathjaxErrors: document.querySelectorAll('mjx-merror').length,
              });
            };
            if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
              MathJax.startup.promise.then(report, report);
            } else { report(); }
            """
        )
        if state["maths"]:
            typeset_pages += 1
            if state["untypeset"] or not state["containers"]:
                problems.append(f"{rel}: {state['untypeset']} of {state['maths']} formulas not typeset")
        if state["mathjaxErrors"]:
            problems.append(f"{rel}: {state['mathjaxErrors']} MathJax errors (bad LaTeX)")
        for entry in browser.get_log("browser"):
            if entry["level"] == "SEVERE":
                problems.append(f"{rel}: console error: {entry['message']}")
    assert typeset_pages > 0, "no page with math was found"
    assert not problems, "\n".join(problems)
