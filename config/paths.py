"""Where the editable configuration lives: the one place every loader finds its files.

Loaders import these constants instead of computing paths from their own location, so moving a
module between packages can never break the path to its TOML or catalog.
"""

from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parent
LOCALE_DIR = CONFIG_DIR / "locale"
PROJECT_ROOT = CONFIG_DIR.parent


def config_file(name: str) -> Path:
    """The path of an editable config file such as ``crisis.toml``."""
    return CONFIG_DIR / name
