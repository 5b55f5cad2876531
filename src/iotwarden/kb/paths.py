"""Where the knowledge base lives: the data shipped in the package and the user's own data dir."""

# The user data dir (``$IOTWARDEN_HOME``, else ``$XDG_DATA_HOME/iotwarden``, else
# ``~/.local/share/iotwarden``) holds files installed by ``iotwarden kb update``; a file there is
# used in preference to the shipped file of the same name.

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DATA = Path(__file__).resolve().parent / "data"
RULES_DIR = PACKAGE_DATA / "rules"
GENERATED_INDEX = PACKAGE_DATA / "generated" / "index.json"
GENERATED_OUI = PACKAGE_DATA / "generated" / "oui.json"  # the shipped registries, parsed (kb/oui_generated.py)
GENERATED_TABLES = PACKAGE_DATA / "generated" / "tables.json"  # the shipped YAML tables, parsed (kb/parsed.py)
GENERATED_SPELLINGS = PACKAGE_DATA / "generated" / "vendor_spellings.json"  # the registry's spellings (kb/oui_names.py)
TAXONOMY_FILE = PACKAGE_DATA / "taxonomy.yaml"
ATTRIBUTES_FILE = PACKAGE_DATA / "attributes.yaml"
VENDOR_ALIASES_FILE = PACKAGE_DATA / "vendor_aliases.yaml"
OUI_DIR = PACKAGE_DATA / "oui"


def user_data_dir() -> Path:
    """The per-user data directory (not created here)."""
    home = os.environ.get("IOTWARDEN_HOME")
    if home:
        return Path(home)
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "iotwarden"


def user_oui_dir() -> Path:
    return user_data_dir() / "oui"
