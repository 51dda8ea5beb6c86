from __future__ import annotations

import subprocess
import sys

import pytest

from tradestats.cli import main
from tradestats.config import FIELDS, ConfigError, Settings, is_loopback


def test_defaults_are_local_and_embedded() -> None:
    s = Settings.load(env={"TRADESTATS_DATA_DIR": "/tmp/x"})
    assert s.host == "127.0.0.1"
    assert s.port == 5000
    assert s.database_url == "sqlite:////tmp/x/tradestats.db"
    assert s.market_data == "demo"
    assert s.db_pool_size == s.threads
    assert s.timeout > s.request_deadline


def test_env_then_cli_override() -> None:
    env = {"TRADESTATS_PORT": "6000", "TRADESTATS_THREADS": "4", "REDIS_URL": "redis://h:1/0"}
    s = Settings.load(env=env, overrides={"port": 7000, "host": None})
    assert s.port == 7000  # flag wins
    assert s.threads == 4 and s.db_pool_size == 4
    assert s.redis_url == "redis://h:1/0"
    assert s.host == "127.0.0.1"  # None override ignored


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"TRADESTATS_PORT": "abc"}, "TRADESTATS_PORT"),
        ({"TRADESTATS_PORT": "70000"}, "TRADESTATS_PORT"),
        ({"TRADESTATS_MARKET_DATA": "bloomberg"}, "TRADESTATS_MARKET_DATA"),
        ({"TRADESTATS_DEMO": "maybe"}, "TRADESTATS_DEMO"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"REDIS_URL": "http://x"}, "REDIS_URL"),
        ({"TRADESTATS_TOKEN": "short"}, "TRADESTATS_TOKEN"),
        ({"TRADESTATS_TIMEOUT": "10", "TRADESTATS_REQUEST_DEADLINE": "20"}, "TRADESTATS_TIMEOUT"),
        ({"TRADESTATS_CORS_ORIGINS": "example.com"}, "TRADESTATS_CORS_ORIGINS"),
    ],
)
def test_invalid_values_name_the_setting(env: dict[str, str], setting: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.load(env=env)
    message = str(info.value)
    assert message.startswith(setting + ":")
    assert "\n" not in message


def test_non_loopback_bind_requires_token() -> None:
    s = Settings.load(env={"TRADESTATS_HOST": "0.0.0.0"})
    with pytest.raises(ConfigError, match="TRADESTATS_TOKEN"):
        s.require_safe_bind()
    Settings.load(
        env={"TRADESTATS_HOST": "0.0.0.0", "TRADESTATS_TOKEN": "x" * 20}
    ).require_safe_bind()
    Settings.load(env={"TRADESTATS_HOST": "::1"}).require_safe_bind()


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("192.168.1.5", False),
        ("::", False),
        ("example.com", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_public_dict_masks_secrets() -> None:
    s = Settings.load(
        env={"TRADESTATS_TOKEN": "y" * 20, "DATABASE_URL": "postgresql://u:secret@db/x"}
    )
    d = s.public_dict()
    assert d["token"] == "***"
    assert "secret" not in d["database_url"]


def test_serve_help_documents_every_setting() -> None:
    from click.testing import CliRunner

    result = CliRunner().invoke(main, ["serve", "--help"], terminal_width=200)
    assert result.exit_code == 0
    for f in FIELDS:
        assert f.env in result.output, f.env
        assert "--" + f.name.replace("_", "-") in result.output


def test_invalid_cli_config_fails_fast_with_one_line() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tradestats.cli", "serve", "--timeout", "5"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "TRADESTATS_TIMEOUT" in proc.stderr


def test_only_config_reads_environ() -> None:
    """Nothing but config.py reads the environment. The one exception is the Prometheus
    multiprocess directory, which the server exports to its workers (prometheus_client
    itself reads that variable)."""
    from pathlib import Path

    import tradestats

    root = Path(tradestats.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        if path.name == "config.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if ("os.environ" in line or "getenv" in line) and "MULTIPROC" not in line:
                offenders.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert not offenders


def test_readme_documents_every_setting() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    missing = [f.env for f in FIELDS if f"`{f.env}`" not in readme]
    assert not missing, f"README configuration table lacks {missing}"
