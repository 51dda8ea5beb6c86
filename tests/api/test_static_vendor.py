"""The dashboard's static files: Plotly from the `plotly` package, its CSS, our modules."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from support.plotly_css import BUNDLE, bundle_version, plotly_style_rules, stylesheet
from tradestats.api.pages import PLOTLY_JS, WEB_DIR
from tradestats.app import create_app
from tradestats.config import Settings
from tradestats.store.engine import build_engine
from tradestats.store.migrate import upgrade

PLOTLY_URL = "/static/vendor/plotly.min.js"


@pytest.fixture
def client(data_dir: Path) -> FlaskClient:
    settings = Settings.load(env={"TRADESTATS_DATA_DIR": str(data_dir)})
    engine = build_engine(settings)
    upgrade(engine)
    return create_app(settings, engine=engine).test_client()


def test_plotly_is_served_from_the_python_package(client: FlaskClient) -> None:
    resp = client.get(PLOTLY_URL, headers={"Accept-Encoding": "identity"})
    assert resp.status_code == 200
    assert resp.mimetype == "text/javascript"
    assert resp.data == PLOTLY_JS.read_bytes()
    assert "Content-Encoding" not in resp.headers
    assert "max-age=604800" in resp.headers["Cache-Control"]
    assert resp.headers["Vary"] == "Accept-Encoding"
    assert resp.headers["ETag"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert b"window.Plotly = Plotly" in resp.data[-2000:]


def test_plotly_gzip_and_conditional_get(client: FlaskClient) -> None:
    resp = client.get(PLOTLY_URL, headers={"Accept-Encoding": "gzip, br"})
    assert resp.status_code == 200 and resp.headers["Content-Encoding"] == "gzip"
    assert resp.mimetype == "text/javascript"
    assert gzip.decompress(resp.data) == PLOTLY_JS.read_bytes()
    assert len(resp.data) < PLOTLY_JS.stat().st_size / 2
    etag = resp.headers["ETag"]
    again = client.get(PLOTLY_URL, headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    # A gzip ETag never validates the identity representation.
    plain = client.get(PLOTLY_URL, headers={"Accept-Encoding": "identity", "If-None-Match": etag})
    assert plain.status_code == 200 and plain.headers["ETag"] != etag


@pytest.mark.parametrize(
    ("path", "mimetype"),
    [
        ("/static/vendor/plotly.css", "text/css"),
        ("/static/css/app.css", "text/css"),
        ("/static/js/app.js", "text/javascript"),
        ("/static/js/router.js", "text/javascript"),
        ("/static/js/views/summary.js", "text/javascript"),
        ("/static/js/views/trades.js", "text/javascript"),
        ("/static/js/views/performance.js", "text/javascript"),
        ("/static/js/views/import.js", "text/javascript"),
        ("/static/js/ui/plotly.js", "text/javascript"),
    ],
)
def test_dashboard_static_files_have_their_types(
    client: FlaskClient, path: str, mimetype: str
) -> None:
    resp = client.get(path)
    assert resp.status_code == 200, path
    assert resp.mimetype == mimetype
    # Module scripts must be served as JavaScript or the browser refuses them (nosniff).
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_every_module_import_resolves_to_a_served_file(client: FlaskClient) -> None:
    """A typo in an import path breaks the whole page with no build step to catch it."""
    js_root = WEB_DIR / "js"
    pattern = re.compile(r"""(?:import|export)\s[^;]*?from\s+['"](\.[^'"]+)['"]""", re.S)
    dynamic = re.compile(r"""import\(\s*['"](\.[^'"]+)['"]\s*\)""")
    for module in js_root.rglob("*.js"):
        text = module.read_text(encoding="utf-8")
        for spec in pattern.findall(text) + dynamic.findall(text):
            target = (module.parent / spec).resolve()
            url = "/static/" + target.relative_to(WEB_DIR).as_posix()
            assert client.get(url).status_code == 200, f"{module.name} imports {spec}"


def test_plotly_css_matches_the_installed_bundle() -> None:
    """The static stylesheet replaces the <style> plotly.js would inject (refused by our
    CSP). Regenerate with: python tests/support/plotly_css.py > .../vendor/plotly.css"""
    bundle = BUNDLE.read_text(encoding="utf-8")
    rules = plotly_style_rules(bundle)
    assert any(".modebar" in sel for sel, _ in rules)
    shipped = (WEB_DIR / "vendor" / "plotly.css").read_text(encoding="utf-8")
    assert shipped == stylesheet(bundle, bundle_version(bundle))


def test_plotly_skips_inline_styles_when_our_stylesheet_is_linked(client: FlaskClient) -> None:
    """plotly.js does not inject its <style> when #plotly.js-style-global exists with class
    no-inline-styles; index.html provides exactly that <link>, so style-src stays 'self'."""
    bundle = BUNDLE.read_text(encoding="utf-8")
    assert '"plotly.js-style-"' in bundle and '.matches(".no-inline-styles")' in bundle
    html = client.get("/").get_data(as_text=True)
    link = re.search(r"<link[^>]*plotly\.css[^>]*>", html)
    assert link is not None
    assert 'id="plotly.js-style-global"' in link.group(0)
    assert 'class="no-inline-styles"' in link.group(0)
    assert 'rel="stylesheet"' in link.group(0)
    csp = client.get("/").headers["Content-Security-Policy"]
    assert "style-src 'self';" in csp and "unsafe-inline" not in csp


def test_index_has_router_slots_and_no_inline_handlers(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    for route in ("#summary", "#performance", "#trades", "#import", "#screener"):
        assert f'href="{route}"' in html
    assert " style=" not in html and "onclick" not in html and "<style" not in html


def test_import_view_knows_every_server_preset() -> None:
    """The Import view's fallback list and labels cover every preset the server has, in
    the server's order (the list is used when the OpenAPI document cannot be read)."""
    from tradestats.journal.importers import preset_names

    source = (Path(WEB_DIR) / "js" / "views" / "import.js").read_text(encoding="utf-8")
    listed = re.search(r"DEFAULT_PRESETS = \[(.*?)\];", source, re.S)
    assert listed is not None
    assert re.findall(r"'([a-z0-9_]+)'", listed.group(1)) == preset_names()
    labels = re.search(r"PRESET_LABELS = \{(.*?)\};", source, re.S)
    assert labels is not None
    assert set(re.findall(r"^\s*([a-z0-9_]+):", labels.group(1), re.M)) == set(preset_names())
