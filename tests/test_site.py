"""The rendered book as readers use it: every page of _build/html in a real browser.

Debian's Chromium (``/usr/bin/chromium``, installed by ``make test`` when missing), driven
by Playwright, opens every HTML page of the built book, served by a local ``http.server``
on 127.0.0.1. Pages are discovered from the build output, so chapters and exercises added
later are covered without touching this file. Each page is visited once; the tests then
check what was recorded:

- the page loads (HTTP 200, no uncaught JavaScript error, no failed request);
- every formula is typeset by MathJax: no raw TeX left in the text, no TeX error, no
  undefined macro;
- every image and every frame of every animation loads (``naturalWidth > 0``) and every
  image has alternative text; figures fit the text column;
- no request leaves the site (every request to another host is recorded and blocked);
- every internal link resolves, and so does its ``#anchor``;
- axe-core finds no serious or critical accessibility violation, apart from the theme's
  own markup listed in :data:`KNOWN_VIOLATIONS`, each with the reason it cannot be fixed
  from the book;
- chapters and exercises have their Binder, Colab and JupyterHub buttons and a
  ``.ipynb`` download.

Further tests walk prev/next through the table of contents, search for "convolution",
and write screenshots of three representative pages (the one with the most math, the one
with the most figures, an exercise), in the light and the dark theme, to
``_build/screenshots/``. One test plants a fault of every kind in a copy of a page and
checks that every check above catches it.

When Chromium or Playwright is missing the tests are skipped with the reason, except on
CI (``CI`` set), where they fail: ``make test`` installs both.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

CHROMIUM = Path(os.environ.get("CNNBOOK_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
#: axe-core, pinned; npm installs it into _build/node (make test does it first).
AXE_VERSION = "4.14.1"
VIEWPORT = {"width": 1280, "height": 900}
REFRESH = re.compile(r"<meta[^>]+http-equiv\s*=\s*[\"']?refresh", re.I)

#: Serious or critical axe violations that come from the theme's or a Sphinx extension's
#: own markup and that no setting or stylesheet of the book can fix. Each entry: the axe
#: rule, a regular expression matched against the offending node (its CSS selector and
#: its HTML), and the reason. Anything else fails the test.
KNOWN_VIOLATIONS = [
    ("label-content-name-mismatch", r"theme-switch-button",
     "pydata-sphinx-theme's light/dark switch is named 'Color mode' while its icons carry the "
     "titles 'Light', 'Dark' and 'System Settings'; the button is the theme's template"),
    ("label-content-name-mismatch", r'aria-label="Toggle hidden content"',
     "myst-nb folds hidden code cells in a <summary aria-label=\"Toggle hidden content\"> whose "
     "visible text is 'Show code cell source'; myst-nb's HTML renderer writes both"),
    ("summary-name", r"toctree-toggle",
     "sphinx-book-theme's sidebar toggles are <summary> elements holding only an icon; "
     "book/assets/cnnbook.css names them with CSS generated content, which Chromium uses "
     "(test_sidebar_toggles_are_named_for_screen_readers) but axe does not count"),
    ("aria-required-children", r"citation-list",
     "docutils writes the bibliography as role=\"list\" whose entries have "
     "role=\"doc-biblioentry\", a role ARIA 1.2 deprecates; Sphinx's HTML writer, not the book"),
]

_COLLECT = """
async () => {
  const out = {};
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  // Every image, and every frame of every matplotlib animation, decoded (or failed).
  const frames = [];
  // Every animation output defines its own Animation class: recognise the players by shape.
  for (const key of Object.keys(window)) {
    let v; try { v = window[key]; } catch (e) { continue; }
    if (v && typeof v === "object" && Array.isArray(v.frames) && typeof v.set_frame === "function") {
      v.frames.forEach((f, i) => frames.push({anim: key, index: i, img: f}));
    }
  }
  const settle = img => img.complete ? Promise.resolve() :
      new Promise(r => { img.addEventListener("load", r); img.addEventListener("error", r);
                         setTimeout(r, 10000); });
  await Promise.all([...document.images, ...frames.map(f => f.img)].map(settle));
  out.frames = frames.map(f => ({anim: f.anim, index: f.index, ok: f.img.naturalWidth > 0}));
  out.players = document.querySelectorAll('.animation img[id^="_anim_img"]').length;

  const article = document.querySelector("article.bd-article") || document.querySelector("main") || document.body;
  const column = article.clientWidth;
  out.column = column;
  out.images = [...document.images].map(img => {
    const r = img.getBoundingClientRect();
    return {src: img.currentSrc || img.src, alt: img.getAttribute("alt"),
            ok: img.complete && img.naturalWidth > 0, natural: img.naturalWidth,
            width: r.width, inArticle: article.contains(img),
            hidden: img.closest('[aria-hidden="true"]') !== null || img.getAttribute("role") === "presentation"};
  });
  out.figuresWithoutImage = [...article.querySelectorAll("figure")]
      .filter(f => !f.querySelector("img, svg, video, canvas")).length;
  out.overflow = document.documentElement.scrollWidth - window.innerWidth;

  // Math: every element Sphinx marked as math is typeset; no raw TeX is left in prose.
  out.math = document.querySelectorAll(".math").length;
  out.mathUntypeset = [...document.querySelectorAll(".math")]
      .filter(m => !m.querySelector("mjx-container") && !m.closest("mjx-container"))
      .slice(0, 5).map(m => m.textContent.slice(0, 80));
  // A TeX error is typeset as an <merror>; an unknown macro (MathJax's noundefined
  // extension) as its own name in red: both are found in MathJax's internal trees.
  out.mathErrors = [...document.querySelectorAll("mjx-merror")].slice(0, 5)
      .map(e => "error: " + (e.getAttribute("data-mjx-error") || e.textContent).slice(0, 120));
  if (window.MathJax && MathJax.startup && MathJax.startup.document) {
    for (const item of MathJax.startup.document.math) {
      if (!item.root || !item.root.walkTree) continue;
      item.root.walkTree(n => {
        if (n.isKind("mtext") && n.attributes.get("mathcolor") === "red") {
          const name = n.childNodes.map(c => c.getText ? c.getText() : "").join("");
          out.mathErrors.push(`undefined macro ${name} in ${String(item.math).slice(0, 80)}`);
        }
      });
    }
  }
  const skip = "pre, code, script, style, textarea, mjx-container, .highlight, .cell_input, .cell_output, .output";
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT, {
    acceptNode: n => (n.parentElement && !n.parentElement.closest(skip)) ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_REJECT});
  const rawTex = /\\$\\$|\\\\\\(|\\\\\\)|\\\\\\[|\\\\\\]|\\\\begin\\{|\\$[^$\\s][^$]*?\\\\[A-Za-z]+[^$]*?\\$/;
  out.rawTex = [];
  while (walker.nextNode()) {
    const t = walker.currentNode.textContent;
    const m = t.match(rawTex);
    if (m) out.rawTex.push(t.slice(Math.max(0, m.index - 30), m.index + 50));
  }

  // Links, anchors, navigation and the header buttons.
  out.links = [...document.querySelectorAll("a[href]")].map(a => a.href);
  out.ids = [...document.querySelectorAll("[id]")].map(e => e.id)
      .concat([...document.querySelectorAll("a[name]")].map(a => a.name));
  const next = document.querySelector("a.right-next"), prev = document.querySelector("a.left-prev");
  out.next = next ? next.href : null;
  out.prev = prev ? prev.href : null;
  out.buttons = [...document.querySelectorAll(".article-header-buttons a[href], .header-article-items a[href]")]
      .map(a => ({text: a.textContent.trim(), href: a.href}));
  out.title = document.title;
  return out;
}
"""

_AXE = """
async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => {
                  // axe abbreviates the node's HTML (a <summary> is just "<summary>"): take it whole.
                  let html = n.html;
                  try { const e = document.querySelector(n.target[0]); if (e) html = e.outerHTML; } catch (err) {}
                  return {target: n.target.join(" "), html: html.slice(0, 400)};
                })}));
}
"""


# ---------------------------------------------------------------------------------------
# The browser, the server, the visits


def _unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run on CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the Python package playwright is not installed (pip install -e '.[dev]'; make test does it)")
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing: Debian's chromium is needed (as root: make browser, "
                     "which runs apt-get install -y chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextmanager
def serve(folder: Path):
    """``folder`` served on 127.0.0.1, on a free port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def site(built_book):
    with serve(built_book) as url:
        yield url


@pytest.fixture(scope="module")
def axe_script(root) -> Path | None:
    """axe-core's script, installed by npm into _build/node once (make test does it first).

    None when npm is missing (outside CI): the accessibility test is then skipped, the others run.
    """
    path = root / "_build" / "node" / "node_modules" / "axe-core" / "axe.min.js"
    installed = path.parent / "package.json"
    if path.exists() and json.loads(installed.read_text())["version"] == AXE_VERSION:
        return path
    npm = shutil.which("npm")
    if npm is None:
        if os.environ.get("CI"):
            pytest.fail("npm is missing on CI: axe-core is installed with npm", pytrace=False)
        return None
    proc = subprocess.run([npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix",
                           str(root / "_build" / "node"), f"axe-core@{AXE_VERSION}"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and path.exists(), f"npm could not install axe-core:\n{proc.stdout}\n{proc.stderr}"
    return path


def book_pages(html: Path) -> list[str]:
    """Every HTML page of the build, relative to its root, in a stable order."""
    skip = ("_static/", "_sources/", "_images/", "_downloads/")
    return sorted(str(p.relative_to(html)) for p in html.rglob("*.html")
                  if not str(p.relative_to(html)).startswith(skip))


@dataclass
class Visit:
    name: str
    status: int | None = None
    data: dict = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    axe: list[dict] = field(default_factory=list)


def visit_pages(browser, site: str, html: Path, names: list[str], axe_script: Path | None) -> dict[str, Visit]:
    """Load every page of ``html`` (served at ``site``) in Chromium once; record what was seen."""
    context = browser.new_context(viewport=VIEWPORT, service_workers="block")
    current: dict[str, Visit] = {}

    def route(r):
        url = r.request.url
        if url.startswith(site) or url.startswith(("data:", "blob:", "about:")):
            r.continue_()
        else:  # recorded, and never sent
            current["visit"].external.append(f"{r.request.resource_type} {url}")
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("pageerror", lambda e: current["visit"].errors.append(str(e)))
    page.on("response", lambda r: r.status >= 400 and current["visit"].failed.append(f"{r.status} {r.url}"))
    # A request the browser cancels (net::ERR_ABORTED, e.g. a font still loading when the
    # next page opens) is no fault of the page; a missing file shows up as a 404 response.
    page.on("requestfailed", lambda r: r.url.startswith(site) and "ERR_ABORTED" not in (r.failure or "")
            and current["visit"].failed.append(f"{r.failure} {r.url}"))
    results = {}
    try:
        for name in names:
            visit = current["visit"] = results[name] = Visit(name)
            redirect = REFRESH.search((html / name).read_text(encoding="utf-8", errors="replace"))
            response = page.goto(site + name, wait_until="load")
            visit.status = response.status if response else None
            if redirect:  # index.html: <meta http-equiv="Refresh">, which leaves at once
                page.wait_for_url(lambda url: not url.endswith("/" + name), timeout=15000)
                page.wait_for_load_state("load")
                visit.data = {"landed": page.url}
                continue
            visit.data = page.evaluate(_COLLECT)
            if axe_script is not None:
                page.add_script_tag(path=str(axe_script))
                visit.axe = page.evaluate(_AXE)
            try:  # let late requests (MathJax's fonts) finish on the page that made them
                page.wait_for_load_state("networkidle", timeout=10000)
            except Exception:  # playwright's TimeoutError: a page that keeps polling
                pass
    finally:
        context.close()
    return results


@pytest.fixture(scope="module")
def visits(browser, site, built_book, axe_script) -> dict[str, Visit]:
    """Every page of the book loaded once in Chromium, with what was seen on it."""
    return visit_pages(browser, site, built_book, book_pages(built_book), axe_script)


def _content(visits) -> list[Visit]:
    return [v for v in visits.values() if "landed" not in v.data]


def _fail_with(problems: list[str], what: str):
    assert not problems, f"{len(problems)} {what}:\n  " + "\n  ".join(problems[:40])


# ---------------------------------------------------------------------------------------
# What is wrong on the pages visited: one function per check, each a list of problems


def load_problems(visits) -> list[str]:
    problems = []
    for v in visits.values():
        if v.status != 200:
            problems.append(f"{v.name}: HTTP {v.status}")
        problems += [f"{v.name}: JavaScript error: {e}" for e in v.errors]
        problems += [f"{v.name}: failed request: {f}" for f in v.failed]
    return problems


def external_problems(visits) -> list[str]:
    return [f"{v.name}: {u}" for v in visits.values() for u in v.external]


def math_problems(visits) -> list[str]:
    problems = []
    for v in _content(visits):
        d = v.data
        problems += [f"{v.name}: MathJax: {e}" for e in d["mathErrors"]]
        problems += [f"{v.name}: math not typeset: {t!r}" for t in d["mathUntypeset"]]
        problems += [f"{v.name}: raw TeX in the text: {t!r}" for t in d["rawTex"]]
    return problems


def image_problems(visits) -> list[str]:
    problems = []
    for v in _content(visits):
        problems += [f"{v.name}: image did not load: {i['src'][:120]}" for i in v.data["images"] if not i["ok"]]
        problems += [f"{v.name}: frame {f['index']} of animation {f['anim']} did not load"
                     for f in v.data["frames"] if not f["ok"]]
        players = {f["anim"] for f in v.data["frames"]}
        if len(players) < v.data["players"]:
            problems.append(f"{v.name}: {v.data['players']} animation players, but the frames of only "
                            f"{len(players)} could be inspected")
    return problems


def alt_problems(visits) -> list[str]:
    problems = []
    for v in _content(visits):
        for img in v.data["images"]:
            if img["alt"] is None and not img["hidden"]:
                problems.append(f"{v.name}: image without an alt attribute: {img['src'][:100]}")
            elif img["inArticle"] and not img["hidden"] and not (img["alt"] or "").strip():
                problems.append(f"{v.name}: figure with empty alt text: {img['src'][:100]}")
        if v.data["figuresWithoutImage"]:
            problems.append(f"{v.name}: {v.data['figuresWithoutImage']} figure(s) without an image")
    return problems


def size_problems(visits) -> list[str]:
    """No figure wider than the column, none shrunk so much that its text becomes tiny."""
    problems = []
    for v in _content(visits):
        column = v.data["column"]
        if v.data["overflow"] > 1:
            problems.append(f"{v.name}: the page scrolls sideways by {v.data['overflow']} px at {VIEWPORT['width']} px")
        for img in v.data["images"]:
            if not img["inArticle"] or not img["ok"] or img["width"] == 0:
                continue
            if img["width"] > column + 1:
                problems.append(f"{v.name}: {img['src'][-60:]} is {img['width']:.0f} px wide, the column {column} px")
            if img["natural"] > 1.5 * img["width"]:
                problems.append(f"{v.name}: {img['src'][-60:]} drawn {img['natural']} px wide is shown at "
                                f"{img['width']:.0f} px: its text shrinks to {img['width'] / img['natural']:.0%}; "
                                "draw it at the book's size (cnnbook.plotting.FIGURE_WIDTH)")
    return problems


def link_problems(visits, site: str, html: Path) -> list[str]:
    ids = {name: set(v.data.get("ids", [])) for name, v in visits.items()}

    def ids_of(rel: str) -> set[str]:
        if rel not in ids:
            text = (html / rel).read_text(encoding="utf-8", errors="replace")
            ids[rel] = set(re.findall(r"""\b(?:id|name)\s*=\s*["']([^"']+)["']""", text))
        return ids[rel]

    problems = []
    for v in _content(visits):
        for href in dict.fromkeys(v.data["links"]):
            if not href.startswith(site):
                continue
            parts = urlsplit(href)
            rel = unquote(parts.path)[len(urlsplit(site).path):]
            target = html / rel
            if target.is_dir():
                target, rel = target / "index.html", f"{rel.rstrip('/')}/index.html".lstrip("/")
            if not target.is_file():
                problems.append(f"{v.name}: broken link {href}")
                continue
            fragment = unquote(parts.fragment)
            if fragment and target.suffix == ".html" and fragment not in ids_of(rel):
                problems.append(f"{v.name}: link {href}: no #{fragment} on {rel}")
    return problems


def axe_problems(visits) -> list[str]:
    problems = []
    for v in _content(visits):
        for violation in v.axe:
            for node in violation["nodes"]:
                if not any(rule == violation["id"] and re.search(where, node["target"] + " " + node["html"])
                           for rule, where, _reason in KNOWN_VIOLATIONS):
                    problems.append(f"{v.name}: {violation['impact']} {violation['id']} ({violation['help']}) "
                                    f"at {node['target']}: {node['html'][:160]}")
    return problems


# ---------------------------------------------------------------------------------------
# The table of contents


def toc_order(root: Path) -> list[str]:
    """The documents of _toc.yml in reading order: root, then parts, chapters, sections."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    order = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                order.append(str(entry["file"]).removesuffix(".md").removesuffix(".ipynb"))
            for key in ("sections", "chapters"):
                walk(entry.get(key))

    walk(toc.get("chapters"))
    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    return order


def _doc_of(url: str, site: str) -> str:
    return unquote(urlsplit(url).path)[len(urlsplit(site).path):].removesuffix(".html")


# ---------------------------------------------------------------------------------------
# Tests


def test_every_page_of_the_toc_was_built(visits, root):
    missing = [doc for doc in toc_order(root) if f"{doc}.html" not in visits]
    assert not missing, f"pages of _toc.yml missing from the build: {missing}"


def test_every_page_loads(visits):
    _fail_with(load_problems(visits), "pages did not load cleanly")


def test_root_redirects_to_the_first_page(visits, site, root):
    landed = visits["index.html"].data.get("landed")
    assert landed and _doc_of(landed, site) == toc_order(root)[0], f"index.html leads to {landed}"


def test_no_request_leaves_the_site(visits):
    _fail_with(external_problems(visits), "requests to other hosts (blocked; the book must work offline)")


def test_math_is_typeset(visits):
    _fail_with(math_problems(visits), "problems with the math")
    assert any(v.data["math"] for v in _content(visits)), "no page has math: is MathJax wired up?"


def test_every_image_and_animation_frame_loads(visits):
    _fail_with(image_problems(visits), "images or frames did not load")


def test_every_figure_has_alt_text(visits):
    _fail_with(alt_problems(visits), "images without alternative text")


def test_figures_fit_the_text_column(visits):
    _fail_with(size_problems(visits), "figures that do not fit the page")


def test_every_internal_link_and_anchor_resolves(visits, site, built_book):
    _fail_with(link_problems(visits, site, built_book), "broken internal links")


def test_no_serious_accessibility_violation(visits, axe_script):
    if axe_script is None:
        pytest.skip("npm is missing (apt-get install -y npm): axe-core cannot be installed")
    _fail_with(axe_problems(visits), "serious or critical accessibility violations (axe-core)")


def test_prev_and_next_walk_the_table_of_contents(visits, site, root):
    order = toc_order(root)
    pages = {doc: visits[f"{doc}.html"].data for doc in order if f"{doc}.html" in visits}
    walked, doc = [order[0]], order[0]
    while pages.get(doc, {}).get("next") and len(walked) <= len(order):
        doc = _doc_of(pages[doc]["next"], site)
        walked.append(doc)
    assert walked == order, f"'next' walks {walked}, the table of contents is {order}"
    back, doc = [order[-1]], order[-1]
    while pages.get(doc, {}).get("prev") and len(back) <= len(order):
        doc = _doc_of(pages[doc]["prev"], site)
        back.append(doc)
    assert back == order[::-1], f"'previous' walks {back}, expected {order[::-1]}"


def _is_notebook_page(root: Path, doc: str) -> bool:
    """A chapter or exercise: an .ipynb, or a MyST notebook (an .md with a kernelspec)."""
    if (root / f"{doc}.ipynb").exists():
        return True
    md = root / f"{doc}.md"
    return md.exists() and re.search(r"^kernelspec:", md.read_text(encoding="utf-8")[:2000], re.M) is not None


def test_chapters_and_exercises_have_launch_and_download_buttons(visits, root, site, built_book):
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    repo = config["repository"]["url"].rstrip("/")
    owner_repo = urlsplit(repo).path.strip("/")
    hosts = {"Binder": urlsplit(config["launch_buttons"]["binderhub_url"]).hostname,
             "Colab": urlsplit(config["launch_buttons"]["colab_url"]).hostname,
             "JupyterHub": urlsplit(config["launch_buttons"]["jupyterhub_url"]).hostname}
    notebooks = [doc for doc in toc_order(root) if _is_notebook_page(root, doc)]
    assert notebooks, "no chapter or exercise is a notebook"
    problems = []
    for doc in notebooks:
        buttons = {b["text"]: b["href"] for b in visits[f"{doc}.html"].data["buttons"]}
        for name, host in hosts.items():
            href = buttons.get(name)
            if href is None:
                problems.append(f"{doc}: no {name} button")
            elif urlsplit(href).hostname != host:
                problems.append(f"{doc}: the {name} button goes to {href}, not to {host}")
        for name in ("Binder", "Colab"):
            if name in buttons and f"/{owner_repo}/" not in buttons[name]:
                problems.append(f"{doc}: the {name} button does not use the repository {repo}: {buttons[name]}")
        if "Colab" in buttons and not urlsplit(buttons["Colab"]).path.endswith(".ipynb"):
            problems.append(f"{doc}: Colab opens only notebooks, its button goes to {buttons['Colab']}")
        if "JupyterHub" in buttons and repo not in unquote(buttons["JupyterHub"]):
            problems.append(f"{doc}: the JupyterHub button does not pull {repo}: {buttons['JupyterHub']}")
        ipynb = buttons.get(".ipynb")
        if ipynb is None or not ipynb.startswith(site):
            problems.append(f"{doc}: no .ipynb download ({sorted(buttons)})")
        elif not (built_book / unquote(urlsplit(ipynb).path)[len(urlsplit(site).path):]).is_file():
            problems.append(f"{doc}: the .ipynb download {ipynb} is missing")
    _fail_with(problems, "problems with the launch and download buttons")


def test_sidebar_toggles_are_named_for_screen_readers(browser, site, root):
    """The reason one known violation is excused: Chromium does name the toggles."""
    page = browser.new_page()
    try:
        page.goto(site + f"{toc_order(root)[0]}.html", wait_until="load")
        if page.locator(".bd-sidebar-primary summary").count() == 0:
            pytest.skip("no collapsible section in the sidebar")
        cdp = page.context.new_cdp_session(page)
        tree = cdp.send("Accessibility.getFullAXTree")["nodes"]
        names = [n.get("name", {}).get("value", "") for n in tree
                 if n.get("role", {}).get("value") == "DisclosureTriangle"]
        assert names and all(n.strip() for n in names), f"unnamed sidebar toggles: {names}"
    finally:
        page.close()


def test_search_finds_convolution(browser, site):
    page = browser.new_page()
    try:
        page.goto(site + "search.html?q=convolution", wait_until="load")
        results = page.locator("#search-results ul.search li")
        results.first.wait_for(timeout=30000)
        hrefs = [a.get_attribute("href") or "" for a in page.locator("#search-results ul.search li a").all()]
        assert results.count() > 0
        assert any("book/" in h for h in hrefs), f"no chapter among the results: {hrefs}"
    finally:
        page.close()


# --- the checks can fail ----------------------------------------------------------------------

_PLANTED = """
<section id="planted">
<p>Inline math that the MyST parser missed: $\\alpha + \\beta$.</p>
<p><span class="math notranslate nohighlight">\\(x^2^3\\)</span> and
<span class="math notranslate nohighlight">\\(\\nosuchmacro x\\)</span></p>
<img src="no-such-image.png" alt="a missing image">
<img src="{image}">
<img src="{image}" alt="a figure blown up" style="width: 2400px; max-width: none">
<img src="https://example.org/tracker.png" alt="a remote image">
<a href="no-such-page.html">a broken link</a>
<a href="{first}#no-such-anchor">a broken anchor</a>
<input type="range" min="0" max="3">
</section>
"""


def test_the_checks_catch_planted_faults(browser, built_book, axe_script, tmp_path, root):
    """Every check above fires on a page with one fault of its kind planted."""
    first = f"{toc_order(root)[0]}.html"
    source = (built_book / first).read_text(encoding="utf-8")
    image = next((built_book / "_images").glob("*.png"))
    planted = _PLANTED.replace("{image}", f"_images/{image.name}").replace("{first}", first)
    page = source.replace("</article>", planted + "</article>", 1)
    assert page != source, f"{first} has no <article>"
    # The planted page sits at the top of a copy of the site; its links are rewritten to match.
    depth = first.count("/")
    page = page.replace('="' + "../" * depth, '="') if depth else page
    site_copy = tmp_path / "html"
    shutil.copytree(built_book, site_copy, ignore=shutil.ignore_patterns("_sources", "*.ipynb"))
    (site_copy / "planted.html").write_text(page, encoding="utf-8")
    with serve(site_copy) as url:
        seen = visit_pages(browser, url, site_copy, ["planted.html"], axe_script)
        found = {
            "load": load_problems(seen),
            "external": external_problems(seen),
            "math": math_problems(seen),
            "image": image_problems(seen),
            "alt": alt_problems(seen),
            "size": size_problems(seen),
            "link": link_problems(seen, url, site_copy),
        }
    expected = {
        "load": "no-such-image.png",
        "external": "example.org/tracker.png",
        "math": "raw TeX",
        "image": "no-such-image.png",
        "alt": "without an alt attribute",
        "size": "px wide, the column",
        "link": "no-such-page.html",
    }
    for check, needle in expected.items():
        assert any(needle in p for p in found[check]), f"the {check} check missed its planted fault: {found[check]}"
    assert any("MathJax: error: Double exponent" in p for p in found["math"]), found["math"]
    assert any("undefined macro \\nosuchmacro" in p for p in found["math"]), found["math"]
    assert any("no #no-such-anchor" in p for p in found["link"]), found["link"]
    if axe_script is not None:
        assert any("critical label" in p for p in axe_problems(seen)), axe_problems(seen)


# ---------------------------------------------------------------------------------------
# Screenshots: a derivation-heavy page, a figure-heavy page, an exercise; light and dark.


def representative_pages(visits) -> dict[str, str]:
    chapters = [v for v in _content(visits) if v.name.startswith("book/")]
    exercises = [v for v in _content(visits) if v.name.startswith("exercises/")]
    chosen = {}
    if chapters:
        chosen["derivation"] = max(chapters, key=lambda v: v.data["math"]).name
        chosen["figures"] = max(chapters, key=lambda v: sum(i["inArticle"] for i in v.data["images"])).name
    if exercises:
        chosen["exercise"] = exercises[0].name
    return chosen


def test_screenshots_light_and_dark(browser, site, visits, root):
    """Three representative pages in both themes, for people to look at: _build/screenshots/."""
    out = root / "_build" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    chosen = representative_pages(visits)
    assert set(chosen) == {"derivation", "figures", "exercise"}, chosen
    written = []
    for scheme in ("light", "dark"):
        context = browser.new_context(viewport={"width": 1280, "height": 1600}, color_scheme=scheme)
        context.route("**/*", lambda r: r.continue_() if r.request.url.startswith((site, "data:")) else r.abort())
        page = context.new_page()
        for kind, name in sorted(chosen.items(), key=lambda item: item[1]):
            if page.url != site + name:  # one chapter may be chosen twice: load it once
                page.goto(site + name, wait_until="load")
                page.evaluate("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
            theme = page.evaluate("() => document.documentElement.dataset.theme")
            assert theme == scheme, f"{name}: prefers-color-scheme {scheme} gave data-theme={theme!r}"
            # Scroll to what the page was chosen for: a displayed formula, a figure.
            anchor = {"derivation": "div.math", "figures": "article figure img, article .cell_output img"}.get(kind)
            if anchor and page.locator(anchor).count():
                page.evaluate("sel => { const e = document.querySelector(sel);"
                              " window.scrollTo(0, e.getBoundingClientRect().top + window.scrollY - 120); }", anchor)
                page.wait_for_timeout(300)
            path = out / f"{kind}-{scheme}.png"
            page.screenshot(path=str(path))
            written.append(path)
        context.close()
    assert all(p.stat().st_size > 10_000 for p in written), written
