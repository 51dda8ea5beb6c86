"""Plotly's global CSS as a static stylesheet, so the page keeps ``style-src 'self'``.

plotly.js inserts its library-wide rules (modebar, cursors, notifier) at load time into a
``<style id="plotly.js-style-global">`` it creates — an inline style a strict CSP refuses.
It skips that when an element with that id already exists and has the class
``no-inline-styles``; index.html links ``/static/vendor/plotly.css`` that way. This module
extracts the rules from the installed bundle; ``tests/api/test_static_vendor.py`` fails when
a plotly upgrade changes them. Regenerate with::

    .venv/bin/python tests/support/plotly_css.py > src/tradestats/web/vendor/plotly.css
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import plotly

BUNDLE = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
_TOKEN = re.compile(
    r'\s*(?:"((?:[^"\\]|\\.)*)"|\'((?:[^\'\\]|\\.)*)\'|([A-Za-z_$][\w$]*)|([:,{}]))'
)


def plotly_style_rules(bundle: str) -> list[tuple[str, str]]:
    """(selector, declarations) in the order plotly.js defines them (build/plotcss.js)."""
    start = bundle.index('{"X,X div":')
    pos = start
    tokens: list[tuple[str, str]] = []
    while True:
        m = _TOKEN.match(bundle, pos)
        if m is None:
            raise ValueError(f"cannot parse plotly's style rules near offset {pos}")
        pos = m.end()
        dq, sq, ident, punct = m.groups()
        if punct is not None:
            tokens.append(("p", punct))
            if punct == "}":
                break
        else:
            text = dq if dq is not None else sq if sq is not None else ident
            tokens.append(("s", text.replace('\\"', '"').replace("\\'", "'")))
    rules: list[tuple[str, str]] = []
    body = [t for t in tokens[1:-1] if t != ("p", ",")]
    for i in range(0, len(body), 3):
        (_, key), colon, (_, value) = body[i : i + 3]
        assert colon == ("p", ":"), body[i : i + 3]
        selector = re.sub(r"^,", " ,", key)
        selector = selector.replace("X", ".js-plotly-plot .plotly").replace("Y", ".plotly-notifier")
        rules.append((selector, value))
    return rules


def stylesheet(bundle: str, version: str) -> str:
    """The rules as CSS. plotly.js inserts each rule at index 0, so the sheet it builds is
    in reverse definition order; we keep that order so the cascade is identical."""
    lines = [
        f"/* Generated from plotly.js {version} (plotly {plotly.__version__}) by "
        "tests/support/plotly_css.py; do not edit. */"
    ]
    lines += [f"{sel}{{{decl}}}" for sel, decl in reversed(plotly_style_rules(bundle))]
    return "\n".join(lines) + "\n"


def bundle_version(bundle: str) -> str:
    m = re.search(r"plotly\.js v([\w.\-]+)", bundle[:500])
    return m.group(1) if m else "?"


if __name__ == "__main__":
    text = BUNDLE.read_text(encoding="utf-8")
    sys.stdout.write(stylesheet(text, bundle_version(text)))
