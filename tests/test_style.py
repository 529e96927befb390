"""One look: every chapter draws with the book's style, and its figures read well in both themes.

The style is :data:`cnnbook.plotting.STYLE` (``use_style()``): an opaque white figure, dark
grey text, the Okabe-Ito palette, a full-column default size. The page theme has a light and
a dark mode; in the dark one it shows images on a white panel, dimmed by a CSS filter. So a
figure stays legible in both when it is opaque with a light background and its text keeps
a high contrast after that filter. tests/test_site.py checks in the browser that figures fit
the text column.
"""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import jupytext
import pytest
from matplotlib.colors import to_rgb
from PIL import Image

from cnnbook import plotting

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted(p for p in (ROOT / "book").glob("*.md") if re.search(r"^kernelspec:", p.read_text(encoding="utf-8")[:2000], re.M))

#: A call that applies the book's style.
STYLE_CALL = re.compile(r"\buse_style\(|\bbook_style\(|rcParams\.update\(\s*(?:\w+\.)*STYLE\b|rc_context\(\s*(?:\w+\.)*STYLE\b")
#: A call that draws a figure (matplotlib, or a figure helper of cnnbook.plotting).
DRAWING = re.compile(
    r"\bplt\.(?:subplots|subplot|figure|plot|imshow|matshow|bar|barh|scatter|hist|axes|subplot_mosaic)\("
    r"|\b(?:sliding_window_figure|sliding_window_animation)\("
    r"|\.(?:imshow|matshow|pcolormesh|contourf?)\("
)
#: Minimum contrast (WCAG) of the figure text on the figure background.
TEXT_CONTRAST = 7.0
LINE_CONTRAST = 4.5


def _luminance(rgb) -> float:
    def channel(c):
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def dark_theme_filter(html: Path) -> tuple[float, float]:
    """``(brightness, contrast)`` of the CSS filter the dark theme puts on images, (1, 1) if none."""
    css = "".join(p.read_text(encoding="utf-8", errors="replace") for p in (html / "_static").rglob("*.css"))
    m = re.search(r"data-theme=\"?dark\"?\]\s+img:not\([^)]*\)\s*\{\s*filter:\s*brightness\(([\d.]+)\)\s*contrast\(([\d.]+)\)", css)
    return (float(m.group(1)), float(m.group(2))) if m else (1.0, 1.0)


def _filtered(rgb, brightness: float, contrast_: float):
    return tuple(min(1.0, max(0.0, (c * brightness - 0.5) * contrast_ + 0.5)) for c in rgb)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_applies_the_book_style_before_drawing(chapter):
    code = "\n".join(c.source for c in jupytext.read(chapter).cells if c.cell_type == "code")
    code = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith("#"))
    drawing = DRAWING.search(code)
    if drawing is None:
        return  # a chapter without figures needs no style
    style = STYLE_CALL.search(code)
    line = code[:drawing.start()].count("\n") + 1
    assert style is not None and style.start() < drawing.start(), (
        f"{chapter.name} draws a figure (code line {line}: {drawing.group(0)!r}) without the book's style: "
        "call `cnnbook.plotting.use_style()` in its first code cell"
    )


def test_style_text_and_lines_contrast_with_the_figure_in_both_themes(built_book):
    style = plotting.STYLE
    background = to_rgb(style["figure.facecolor"])
    assert to_rgb(style["axes.facecolor"]) == background and not style["savefig.transparent"], (
        "figures must be opaque: a transparent figure puts dark text on the dark theme's background")
    brightness, contrast_ = dark_theme_filter(built_book)
    for theme, f in (("light", lambda c: c), ("dark", lambda c: _filtered(c, brightness, contrast_))):
        for key, minimum in (("text.color", TEXT_CONTRAST), ("axes.labelcolor", TEXT_CONTRAST),
                             ("axes.edgecolor", LINE_CONTRAST), ("xtick.color", LINE_CONTRAST)):
            ratio = contrast(f(to_rgb(style[key])), f(background))
            assert ratio >= minimum, f"{key} {style[key]} on {style['figure.facecolor']} in the {theme} theme: contrast {ratio:.1f} < {minimum}"
        # The grid pictures write numbers in their cells: text on every cell colour stays readable.
        for name in ("input", "pad", "output", "done", "current"):
            ratio = contrast(f(to_rgb(plotting.COLORS["text"])), f(to_rgb(plotting.COLORS[name])))
            assert ratio >= 4.5, f"text on COLORS[{name!r}] in the {theme} theme: contrast {ratio:.1f} < 4.5"


def test_style_fills_the_text_column():
    width_px = plotting.STYLE["figure.figsize"][0] * plotting.STYLE["figure.dpi"]
    assert 600 <= width_px <= 760, f"default figure width {width_px} px: the text column is about 750 px"


def _figures(html: Path):
    """Every PNG figure of the book: the image files and the frames embedded in the pages."""
    for path in sorted((html / "_images").glob("*.png")):
        yield path.name, Image.open(path)
    for page in sorted((html / "book").rglob("*.html")):
        # matplotlib's JavaScript player splits the base64 text of a frame with backslash-newlines.
        frames = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=\\\s]+)", page.read_text(encoding="utf-8"))
        for i, data in enumerate(frames):
            yield f"{page.name} frame {i}", Image.open(io.BytesIO(base64.b64decode(re.sub(r"[\\\s]", "", data))))


def test_every_figure_is_opaque_on_a_light_background(built_book):
    """What makes a figure legible in the dark theme: no transparency, a light page of its own."""
    problems, count = [], 0
    for name, image in _figures(built_book):
        count += 1
        rgba = image.convert("RGBA")
        alpha = rgba.getchannel("A").getextrema()[0]
        if alpha < 255:
            problems.append(f"{name}: transparent pixels (alpha down to {alpha}); save figures opaque (use_style())")
            continue
        w, h = rgba.size
        corners = [rgba.getpixel(p)[:3] for p in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1))]
        if max(_luminance([c / 255 for c in px]) for px in corners) < 0.6:
            problems.append(f"{name}: a dark background ({corners[0]}): draw on the book's white background")
    assert count, "no figure found in the built book"
    assert not problems, f"{len(problems)} figures would be hard to read in the dark theme:\n  " + "\n  ".join(problems[:30])
