"""`tradestats serve` with the scans blueprint registered, for end-to-end tests written
before app.py registers it (harmless afterwards: an app that has it is left alone).

Run as ``python -m support.scan_serve serve ...`` with ``tests/`` on PYTHONPATH.
"""

from __future__ import annotations

from typing import Any

import tradestats.app
from tradestats.api import scans

_original = tradestats.app.create_app


def create_app_with_scans(*args: Any, **kwargs: Any) -> Any:
    app = _original(*args, **kwargs)
    if "scans" not in app.blueprints:
        app.register_blueprint(scans.register(app.extensions["tradestats"].spec))
    return app


tradestats.app.create_app = create_app_with_scans  # type: ignore[assignment]

if __name__ == "__main__":
    from tradestats.cli import main

    main()
