"""The book's figure style and its drawing helpers for sliding-window layers.

Every figure in the book is drawn with one style, :data:`STYLE`: a white figure
background (readable on the light and on the dark page theme alike), neutral greys for
text and lines, the colour-blind-safe Okabe-Ito palette for data, and a default size that
fills the text column (about 750 pixels wide). Apply it once per notebook with
:func:`use_style`, or for a single figure with ``with book_style(): ...``.

A notebook that draws figures starts with ``%matplotlib inline``: the Makefile exports
``MPLBACKEND=Agg`` (no window ever opens during a build) and a Jupyter kernel started
with that variable keeps Agg unless it is told otherwise, so figures would not appear in
the page.

The grid helpers (:func:`draw_grid`, :func:`draw_padded_grid`, :func:`draw_window`,
:func:`draw_sliding_window`) draw in *cell units* on axes prepared by
:func:`grid_axes`: one cell is a unit square, ``x`` grows to the right along the columns
and ``y`` grows *downwards* along the rows, so that cell ``(r, c)`` of a grid whose top-left
corner is at ``origin = (x0, y0)`` covers ``[x0 + c, x0 + c + 1] x [y0 + r, y0 + r + 1]``,
just as an array is printed. They know nothing about what the window computes: the same
pictures serve convolution (a dot product per window) and pooling (a maximum or a mean
per window). :func:`draw_box` draws a three-dimensional volume (an image, a filter, a
stack of activation maps) in oblique projection on ordinary, ``y``-up axes.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Iterator, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from cycler import cycler
from matplotlib import animation
from matplotlib.colors import to_rgb
from matplotlib.collections import PatchCollection
from matplotlib.patches import Polygon, Rectangle

__all__ = [
    "PALETTE",
    "COLORS",
    "STYLE",
    "FIGURE_WIDTH",
    "ANIMATION_DPI",
    "ANIMATION_FONTSIZE",
    "use_style",
    "book_style",
    "grid_axes",
    "window_starts",
    "draw_grid",
    "draw_padded_grid",
    "draw_window",
    "draw_sliding_window",
    "sliding_window_figure",
    "sliding_window_animation",
    "animation_html",
    "shade",
    "draw_box",
]

#: The Okabe-Ito palette (Okabe and Ito, 2008), distinguishable with every common
#: form of colour blindness; black is left out, it is the text colour's job.
PALETTE = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
)

#: Named colours of the grid pictures, shared by every chapter that draws them.
COLORS = {
    "text": "#222222",  # all text
    "line": "#4d4d4d",  # grid lines, axes, arrows
    "faint": "#9a9a9a",  # padding cells, helper lines
    "input": "#dbe5f1",  # cells of an input
    "pad": "#ffffff",  # padding cells (zeros)
    "window": PALETTE[0],  # the sliding window
    "output": "#f4f4f4",  # output cells not computed yet
    "done": "#f7dba0",  # output cells already computed
    "current": PALETTE[1],  # the output cell being computed
}

#: Width of a full-column figure in inches; at the default 100 dpi it is 750 pixels.
FIGURE_WIDTH = 7.5
#: Resolution of animation frames: small frames keep a page light (every frame of a
#: JavaScript animation is embedded in the page as a PNG image).
ANIMATION_DPI = 70
#: Font size of animation frames, in points: at :data:`ANIMATION_DPI` a point is about
#: a pixel, so the text of a frame is drawn larger than in a figure.
ANIMATION_FONTSIZE = 13

#: The book's matplotlib settings (see :func:`use_style`).
STYLE = {
    "figure.figsize": (FIGURE_WIDTH, FIGURE_WIDTH / 2),
    "figure.dpi": 100,
    "savefig.dpi": "figure",
    # An opaque white background: a transparent figure would put black text on the
    # dark background of the dark page theme.
    "figure.facecolor": "white",
    "figure.edgecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.edgecolor": "white",
    "savefig.transparent": False,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "text.color": COLORS["text"],
    "axes.labelcolor": COLORS["text"],
    "axes.titlecolor": COLORS["text"],
    "axes.edgecolor": COLORS["line"],
    "xtick.color": COLORS["line"],
    "ytick.color": COLORS["line"],
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": cycler(color=PALETTE),
    "grid.color": "#dddddd",
    "lines.linewidth": 1.8,
}

# Space, in cells, between an input grid and its output grid, and above the grids for
# their labels and the title.
_GAP = 2.0
_LABEL_SPACE = 1.2
_TITLE_SPACE = 1.1


def use_style() -> None:
    """Apply the book's style (:data:`STYLE`) to every figure drawn from now on."""
    mpl.rcParams.update(STYLE)


@contextmanager
def book_style() -> Iterator[None]:
    """Apply the book's style inside a ``with`` block only, then restore the settings."""
    with mpl.rc_context(STYLE):
        yield


def grid_axes(ax) -> None:
    """Prepare ``ax`` for the grid helpers: equal aspect, no axes, rows growing downwards."""
    ax.set_aspect("equal")
    ax.set_axis_off()
    if not ax.yaxis_inverted():
        ax.invert_yaxis()


def window_starts(
    size: int, window: int, pad: int = 0, stride: int = 1, *, strict: bool = True
) -> list[int]:
    """Positions of a sliding window along one axis, in padded coordinates.

    A window of ``window`` cells starting at cell ``p`` of an axis of ``size`` cells
    padded by ``pad`` cells on both sides fits when ``p + window <= size + 2 * pad``; it
    starts at ``0, stride, 2 * stride, ...`` while it fits.

    With ``strict=True`` (the book's convention) a ``ValueError`` is raised when the last
    window does not end exactly at the far border, i.e. when ``stride`` does not divide
    ``size + 2 * pad - window``: the cells left over would never be seen. With
    ``strict=False`` the windows that fit are returned and the rest of the axis is
    ignored, as deep learning frameworks do.
    """
    for name, value, low in (("size", size, 1), ("window", window, 1), ("pad", pad, 0),
                             ("stride", stride, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an integer, got {value!r}")
        if value < low:
            raise ValueError(f"{name} must be at least {low}, got {value}")
    span = size + 2 * pad - window
    if span < 0:
        raise ValueError(
            f"a window of {window} does not fit in {size} cells padded by {pad} on each side"
        )
    if strict and span % stride:
        raise ValueError(
            f"a window of {window} with stride {stride} does not tile {size} cells padded "
            f"by {pad}: the last {span % stride} cell(s) would never be covered"
        )
    return list(range(0, span + 1, stride))


def _as_grid(shape_or_values) -> tuple[tuple[int, int], np.ndarray | None]:
    """Split the first argument of :func:`draw_grid` into a shape and optional values."""
    if isinstance(shape_or_values, tuple) and len(shape_or_values) == 2 and all(
        isinstance(n, (int, np.integer)) for n in shape_or_values
    ):
        return (int(shape_or_values[0]), int(shape_or_values[1])), None
    values = np.asarray(shape_or_values)
    if values.ndim != 2:
        raise ValueError(f"expected a (rows, cols) shape or a 2-D array, got {values.shape}")
    return values.shape, values


def draw_grid(
    ax,
    shape_or_values,
    *,
    origin: tuple[float, float] = (0.0, 0.0),
    facecolor=COLORS["input"],
    cell_colors: Sequence[Sequence] | None = None,
    edgecolor=COLORS["line"],
    linewidth: float = 0.8,
    linestyle="-",
    fmt: str = "{:g}",
    fontsize: float | None = None,
    text_color=COLORS["text"],
    zorder: float = 1.0,
) -> None:
    """Draw a grid of unit cells whose top-left corner is at ``origin``.

    ``shape_or_values`` is either a ``(rows, cols)`` tuple (an empty grid) or a 2-D array
    whose entries are written in the cells with ``fmt``; NaN entries are left blank.
    ``cell_colors`` (rows x cols, entries may be ``None``) overrides ``facecolor`` cell
    by cell.
    """
    (rows, cols), values = _as_grid(shape_or_values)
    x0, y0 = origin
    cells, colors = [], []
    for r in range(rows):
        for c in range(cols):
            color = facecolor
            if cell_colors is not None and cell_colors[r][c] is not None:
                color = cell_colors[r][c]
            cells.append(Rectangle((x0 + c, y0 + r), 1, 1))
            colors.append(color)
            if values is not None and not (
                np.issubdtype(values.dtype, np.floating) and np.isnan(values[r, c])
            ):
                ax.text(x0 + c + 0.5, y0 + r + 0.5, fmt.format(values[r, c]),
                        ha="center", va="center", fontsize=fontsize, color=text_color,
                        zorder=zorder + 0.5)
    # One collection per grid: far faster to build and draw than a patch per cell.
    ax.add_collection(PatchCollection(cells, facecolors=colors, edgecolors=edgecolor,
                                      linewidths=linewidth, linestyles=linestyle,
                                      zorder=zorder))


def draw_padded_grid(
    ax,
    shape_or_values,
    pad: int = 0,
    *,
    origin: tuple[float, float] = (0.0, 0.0),
    show_pad_values: bool | None = None,
    fontsize: float | None = None,
    **grid_kw,
) -> None:
    """Draw an input grid surrounded by ``pad`` rings of padding cells.

    ``origin`` is the top-left corner of the *padded* grid. Padding cells are white with
    dashed grey edges; when the input has values (and unless ``show_pad_values=False``)
    they show their value, 0, in grey. Other keywords go to :func:`draw_grid` for the
    input cells.
    """
    (rows, cols), values = _as_grid(shape_or_values)
    x0, y0 = origin
    if pad:
        ring = None
        if values is not None and show_pad_values is not False:
            ring = np.zeros((rows + 2 * pad, cols + 2 * pad))
            ring[pad:pad + rows, pad:pad + cols] = np.nan
        draw_grid(ax, ring if ring is not None else (rows + 2 * pad, cols + 2 * pad),
                  origin=origin, facecolor=COLORS["pad"], edgecolor=COLORS["faint"],
                  linestyle=(0, (2, 2)), text_color=COLORS["faint"], fontsize=fontsize,
                  zorder=grid_kw.get("zorder", 1.0) - 0.1)
    draw_grid(ax, values if values is not None else (rows, cols),
              origin=(x0 + pad, y0 + pad), fontsize=fontsize, **grid_kw)


def draw_window(
    ax,
    top: float,
    left: float,
    height: float,
    width: float | None = None,
    *,
    origin: tuple[float, float] = (0.0, 0.0),
    color=COLORS["window"],
    alpha: float = 0.22,
    linewidth: float = 2.5,
    linestyle="-",
    inset: float = 0.0,
    zorder: float = 3.0,
) -> None:
    """Outline (and lightly fill) a window of ``height x width`` cells at cell ``(top, left)``.

    ``inset`` shrinks the rectangle on every side, which keeps the outlines of
    overlapping windows apart.
    """
    width = height if width is None else width
    x, y = origin[0] + left + inset, origin[1] + top + inset
    w, h = width - 2 * inset, height - 2 * inset
    if alpha:
        ax.add_patch(Rectangle((x, y), w, h, facecolor=color, alpha=alpha,
                               edgecolor="none", zorder=zorder))
    ax.add_patch(Rectangle((x, y), w, h, facecolor="none", edgecolor=color,
                           linewidth=linewidth, linestyle=linestyle, zorder=zorder + 0.1))


def _layout(W: int, F: int, P: int, S: int, H: int | None, strict: bool) -> dict:
    """Geometry shared by the sliding-window pictures (all lengths in cells)."""
    H = W if H is None else H
    rows = window_starts(H, F, P, S, strict=strict)
    cols = window_starts(W, F, P, S, strict=strict)
    Hp, Wp = H + 2 * P, W + 2 * P
    Ho, Wo = len(rows), len(cols)
    return {
        "H": H, "W": W, "Hp": Hp, "Wp": Wp, "Ho": Ho, "Wo": Wo,
        "rows": rows, "cols": cols,
        # The output grid sits to the right of the input, centred vertically.
        "out_origin": (Wp + _GAP, (Hp - Ho) / 2),
        "width": Wp + _GAP + Wo,
        "height": max(Hp, Ho),
    }


def draw_sliding_window(
    ax,
    W: int,
    F: int,
    P: int = 0,
    S: int = 1,
    step: int | None = 0,
    *,
    H: int | None = None,
    x=None,
    out=None,
    kernel=None,
    show_positions: bool = False,
    show_link: bool = True,
    input_label: str = "input",
    output_label: str = "output",
    title: str | bool = True,
    fmt: str = "{:g}",
    fontsize: float | None = None,
    strict: bool = True,
) -> tuple[int, int]:
    """Draw one step of an ``F x F`` window sliding with stride ``S`` over a padded input.

    The input (``H x W``, square unless ``H`` is given, padded by ``P``) is drawn on the
    left with the window at output position number ``step`` (row-major order; ``None``
    for no window) and the output grid on the right: cells already computed are shaded,
    the current one is highlighted, and two thin lines join the window to it.

    Optional values: ``x`` (``H x W``) is written in the input cells, ``kernel``
    (``F x F``) in small type in the corners of the window's cells, and ``out`` (the full
    output) in the output cells computed so far. ``show_positions`` marks the centre of
    every position the window takes, one dot per output cell. Returns the output shape.
    """
    g = _layout(W, F, P, S, H, strict)
    n_steps = g["Ho"] * g["Wo"]
    if step is not None and not 0 <= step < n_steps:
        raise ValueError(f"step must be in [0, {n_steps}), got {step}")
    grid_axes(ax)
    small = (fontsize or mpl.rcParams["font.size"]) * 0.75

    # The input, its padding and the window.
    draw_padded_grid(ax, (g["H"], g["W"]) if x is None else np.asarray(x), P,
                     fmt=fmt, fontsize=fontsize)
    if show_positions:
        centres = [(c + F / 2, r + F / 2) for r in g["rows"] for c in g["cols"]]
        xs, ys = zip(*centres)
        ax.scatter(xs, ys, s=14, color=COLORS["line"], zorder=4)
    i = j = None
    if step is not None:
        i, j = divmod(step, g["Wo"])
        top, left = g["rows"][i], g["cols"][j]
        draw_window(ax, top, left, F)
        if kernel is not None:
            kernel = np.asarray(kernel)
            for u in range(F):
                for v in range(F):
                    ax.text(left + v + 0.93, top + u + 0.93, fmt.format(kernel[u, v]),
                            ha="right", va="bottom", fontsize=small,
                            color=COLORS["window"], zorder=5)

    # The output grid: done, current and pending cells.
    ox, oy = g["out_origin"]
    colors = [[COLORS["output"]] * g["Wo"] for _ in range(g["Ho"])]
    shown = np.full((g["Ho"], g["Wo"]), np.nan)
    for k in range(n_steps if step is None else step + 1):
        r, c = divmod(k, g["Wo"])
        if step is not None:
            colors[r][c] = COLORS["current"] if k == step else COLORS["done"]
        if out is not None:
            shown[r, c] = np.asarray(out)[r, c]
    draw_grid(ax, shown if out is not None else (g["Ho"], g["Wo"]), origin=(ox, oy),
              cell_colors=colors, fmt=fmt, fontsize=fontsize)

    if show_link and step is not None:
        top, left = g["rows"][i], g["cols"][j]
        for dy_in, dy_out in ((0, 0), (F, 1)):
            ax.plot([left + F, ox + j], [top + dy_in, oy + i + dy_out],
                    color=COLORS["faint"], linewidth=0.9, zorder=0.5)

    # Labels above the grids, the title above the labels.
    label_in = f"{input_label} {g['H']}×{g['W']}" + (f", padding {P}" if P else "")
    ax.text(g["Wp"] / 2, -0.3, label_in, ha="center", va="bottom", fontsize=fontsize)
    ax.text(ox + g["Wo"] / 2, oy - 0.3, f"{output_label} {g['Ho']}×{g['Wo']}",
            ha="center", va="bottom", fontsize=fontsize)
    top_space = _LABEL_SPACE
    if title:
        text = title if isinstance(title, str) else f"W = {W}, F = {F}, P = {P}, S = {S}"
        ax.text(g["width"] / 2, -_LABEL_SPACE - 0.2, text, ha="center", va="bottom",
                fontsize=(fontsize or mpl.rcParams["font.size"]) * 1.1, fontweight="bold")
        top_space += _TITLE_SPACE
    ax.set_xlim(-0.2, g["width"] + 0.2)
    ax.set_ylim(g["height"] + 0.2, -top_space - 0.2)
    return g["Ho"], g["Wo"]


def _extent(case: dict, title: bool) -> tuple[float, float]:
    """Width and height, in cells, of the picture :func:`draw_sliding_window` draws."""
    g = _layout(case["W"], case["F"], case.get("P", 0), case.get("S", 1), case.get("H"),
                case.get("strict", True))
    space = _LABEL_SPACE + (_TITLE_SPACE if title else 0.0)
    return g["width"] + 0.4, g["height"] + space + 0.4


def sliding_window_figure(
    cases: Sequence[dict],
    *,
    ncols: int = 2,
    cell_inches: float | None = None,
    title: bool = True,
    **draw_kw,
):
    """Draw several sliding-window cases side by side at one common scale.

    Each case is a dict of :func:`draw_sliding_window` arguments (``W``, ``F`` and
    optionally ``P``, ``S``, ``H``, ``step``, ``x``, ``out``, ``title``...); the other
    keywords apply to every case. Every panel gets the same size, that of the largest
    case, so that a cell has the same size everywhere; ``cell_inches`` (the size of a
    cell) defaults to what makes the figure :data:`FIGURE_WIDTH` wide. Returns the figure.
    """
    extents = [_extent(case, title) for case in cases]
    width = max(e[0] for e in extents)
    height = max(e[1] for e in extents)
    ncols = min(ncols, len(cases))
    nrows = -(-len(cases) // ncols)
    if cell_inches is None:
        cell_inches = FIGURE_WIDTH / (ncols * width)
    fig, axes = plt.subplots(nrows, ncols, squeeze=False,
                             figsize=(ncols * width * cell_inches,
                                      nrows * height * cell_inches))
    for ax, case in zip(axes.flat, cases):
        kw = {"title": title, **draw_kw, **case}
        draw_sliding_window(ax, **kw)
        # A common scale: pad every panel's limits to the largest extent.
        x0, _ = ax.get_xlim()
        y_bottom, y_top = ax.get_ylim()
        ax.set_xlim(x0, x0 + width)
        ax.set_ylim(y_top + height, y_top)
    for ax in axes.flat[len(cases):]:
        ax.set_axis_off()
    fig.subplots_adjust(left=0.01, right=0.99, top=0.99, bottom=0.01, wspace=0.05,
                        hspace=0.05)
    return fig


def sliding_window_animation(
    W: int,
    F: int,
    P: int = 0,
    S: int = 1,
    *,
    H: int | None = None,
    interval: int = 700,
    dpi: int = ANIMATION_DPI,
    cell_inches: float = 0.5,
    fontsize: float = ANIMATION_FONTSIZE,
    title: str | bool = True,
    **draw_kw,
) -> animation.FuncAnimation:
    """Animate a window sliding over a padded input, one frame per output cell.

    Arguments are those of :func:`draw_sliding_window`; ``interval`` is the time between
    frames in milliseconds and ``cell_inches`` the size of one cell, the same in every
    animation by default, so that animations of different layers share one scale. The
    figure is closed before the animation is returned, so a notebook shows only the
    animation (see :func:`animation_html`), not its last frame.
    """
    g = _layout(W, F, P, S, H, draw_kw.get("strict", True))
    width, height = _extent({"W": W, "F": F, "P": P, "S": S, "H": H,
                             "strict": draw_kw.get("strict", True)}, bool(title))
    fig = plt.figure(figsize=(width * cell_inches, height * cell_inches), dpi=dpi)
    ax = fig.add_axes((0, 0, 1, 1))

    def frame(k: int):
        ax.clear()
        draw_sliding_window(ax, W, F, P, S, k, H=H, title=title, fontsize=fontsize,
                            **draw_kw)
        return ()

    anim = animation.FuncAnimation(fig, frame, frames=g["Ho"] * g["Wo"],
                                   interval=interval, repeat=True)
    plt.close(fig)
    return anim


# The JavaScript player of matplotlib draws its buttons with Font Awesome icons loaded
# from a CDN; an offline page would show empty buttons. Plain Unicode glyphs (with the
# text-presentation selector U+FE0E, so that no platform turns them into emoji) need
# nothing. Each button keeps its title and aria-label.
_TEXT = "\ufe0e"
_PLAYER_GLYPHS = {
    "fa fa-minus": "−",
    "fa fa-fast-backward": "|◀" + _TEXT + "◀" + _TEXT,
    "fa fa-step-backward": "|◀" + _TEXT,
    "fa fa-play fa-flip-horizontal": "◀" + _TEXT,
    "fa fa-pause": "❚❚",
    "fa fa-play": "▶" + _TEXT,
    "fa fa-step-forward": "▶" + _TEXT + "|",
    "fa fa-fast-forward": "▶" + _TEXT + "▶" + _TEXT + "|",
    "fa fa-plus": "+",
}


def animation_html(anim: animation.Animation, *, alt: str = "", default_mode: str = "loop"):
    """Return ``anim`` as a self-contained JavaScript player for a notebook or static page.

    Every frame is embedded as a PNG image, so the player needs no server; keep frames
    few and small (see :data:`ANIMATION_DPI`). The player's icons are replaced by plain
    text glyphs so that the page loads nothing from the network, ``alt`` becomes the
    alternative text of the frames, and the frames shrink to fit a narrow page. Returns
    an ``IPython.display.HTML`` object.
    """
    from IPython.display import HTML

    html = anim.to_jshtml(default_mode=default_mode)
    html = re.sub(r'<link rel="stylesheet"\s+href="[^"]*font-awesome[^"]*">\s*', "", html)
    for css_class, glyph in _PLAYER_GLYPHS.items():
        html = html.replace(f'<i class="{css_class}"></i>', glyph)
    escaped = alt.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    html = html.replace('<img id="_anim_img',
                        f'<img alt="{escaped}" style="max-width: 100%" id="_anim_img')
    # The frame slider needs a name of its own for screen readers (WCAG 4.1.2).
    html = html.replace('type="range" class="anim-slider"',
                        'type="range" class="anim-slider" aria-label="Animation frame"')
    return HTML(html)


def shade(color, amount: float):
    """Blend ``color`` towards white (``amount > 0``) or black (``amount < 0``)."""
    rgb = np.array(to_rgb(color))
    target = np.ones(3) if amount > 0 else np.zeros(3)
    return tuple(rgb + (target - rgb) * abs(amount))


def draw_box(
    ax,
    x: float,
    y: float,
    width: float,
    height: float,
    depth: float,
    *,
    angle: float = 40.0,
    depth_scale: float = 1.0,
    facecolor=COLORS["input"],
    edgecolor=COLORS["line"],
    linewidth: float = 1.0,
    alpha: float = 1.0,
    zorder: float = 1.0,
) -> dict:
    """Draw a box (a volume such as an image ``height x width x depth``) in oblique projection.

    The front face is the rectangle with lower-left corner ``(x, y)`` on ordinary
    ``y``-up axes; the depth recedes up and to the right at ``angle`` degrees,
    ``depth * depth_scale`` units long. The top face is drawn lighter and the side face
    darker than ``facecolor``. Returns the corners of the front face (``"front"``: lower
    left, lower right, upper right, upper left) and the depth offset (``"offset"``), for
    drawing lines that connect boxes.
    """
    dx = depth * depth_scale * np.cos(np.radians(angle))
    dy = depth * depth_scale * np.sin(np.radians(angle))
    front = [(x, y), (x + width, y), (x + width, y + height), (x, y + height)]
    top = [(x, y + height), (x + width, y + height), (x + width + dx, y + height + dy),
           (x + dx, y + height + dy)]
    side = [(x + width, y), (x + width + dx, y + dy), (x + width + dx, y + height + dy),
            (x + width, y + height)]
    for corners, color in ((side, shade(facecolor, -0.18)), (top, shade(facecolor, 0.35)),
                           (front, facecolor)):
        ax.add_patch(Polygon(corners, closed=True, facecolor=color, edgecolor=edgecolor,
                             linewidth=linewidth, alpha=alpha, zorder=zorder))
    return {"front": front, "offset": (dx, dy)}
