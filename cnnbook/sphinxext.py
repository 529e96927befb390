"""The book's own Sphinx extension: Colab buttons for the MyST chapters, no duplicate scripts.

sphinx-book-theme builds the Binder, JupyterHub and Colab buttons of a page from the one
``repository: url:`` of ``_config.yml``. Binder and JupyterHub open a chapter's MyST
Markdown source directly (jupytext, installed with the book, opens it as a notebook), but
Colab opens only ``.ipynb`` files from GitHub: its button on a chapter would point at a
``.md`` file it cannot read. The theme also copies every chapter's executed notebook into
the site (``_sources/<page>.ipynb``, the target of the download button), so for a chapter
this extension points the Colab button at that notebook in the published site, on the
branch named by ``launch_buttons: colab_site_branch:`` (``gh-pages``, where
``ghp-import -n -p -f _build/html`` publishes the site). Exercises are ``.ipynb`` files
already; their buttons are left as the theme makes them.

sphinx-thebe (loaded by Jupyter Book even with Thebe off) adds its inline configuration
script twice to every page; the second copy redeclares a ``const`` and raises a
``SyntaxError`` in the reader's browser. Identical scripts are kept once.
"""

from __future__ import annotations

from urllib.parse import quote


def _colab_for_markdown_notebooks(app, pagename, templatename, context, doctree) -> None:
    if not str(context.get("sourcename", "")).endswith((".md", ".md.txt")):
        return
    launch = app.config.html_theme_options.get("launch_buttons", {}) or {}
    branch = str(launch.get("colab_site_branch", "") or "").strip()
    colab = str(launch.get("colab_url", "") or "").strip().rstrip("/")
    user, repo = context.get("github_user"), context.get("github_repo")
    if not (branch and colab and user and repo and context.get("ipynb_source")):
        return
    target = f"{colab}/github/{user}/{repo}/blob/{quote(branch)}/_sources/{context['ipynb_source']}"
    for group in context.get("header_buttons", []):
        if group.get("label") != "launch-buttons":
            continue
        for button in group.get("buttons", []):
            if button.get("text") == "Colab":
                button["url"] = target


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for script in scripts:
        # An inline script has no file name: None or "" depending on who added it.
        key = (getattr(script, "filename", script) or None,
               tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    context["script_files"] = kept


def setup(app):
    # After sphinx-book-theme's own launch buttons (priority 501).
    app.connect("html-page-context", _colab_for_markdown_notebooks, priority=502)
    app.connect("html-page-context", _drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
