"""The device taxonomy: device type ids, labels, categories, parents and aliases (``taxonomy.yaml``)."""

# Rules conclude a ``device_type`` by id; importers map foreign names ("VoIP Phone", "Printers")
# to ids through the aliases. Categories are the six the platform reports on.

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from iotwarden.errors import ConfigError
from iotwarden.kb import paths
from iotwarden.kb.parsed import load_table

CATEGORIES = ("iot", "ot", "it", "network", "medical", "building")
MAX_DEPTH = 8  # parent chain length; deeper is a cycle or a modelling mistake
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class DeviceType:
    id: str
    label: str
    category: str
    description: str
    parent: str | None
    aliases: tuple[str, ...]


TYPE_KEYS = ("id", "label", "category", "parent", "aliases", "description")


def _norm(name: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", name.lower()).split())


class Taxonomy:
    """Device types by id, with alias resolution and parent chains."""

    def __init__(self, types: dict[str, DeviceType]) -> None:
        self.types = types
        self._alias: dict[str, str] = {}
        for t in types.values():
            for name in (t.id, t.label, *t.aliases):
                self._alias.setdefault(_norm(name), t.id)

    @classmethod
    def load(cls, path: Path | None = None) -> Taxonomy:
        """Read and validate ``taxonomy.yaml``; ConfigError names the type and the key."""
        path = path or paths.TAXONOMY_FILE
        try:
            data = load_table(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: cannot read taxonomy: {exc}") from exc
        items = data.get("types") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise ConfigError(f"{path}: expected a mapping with a 'types' list")
        types: dict[str, DeviceType] = {}
        for i, item in enumerate(items):
            tid = item.get("id") if isinstance(item, dict) else None
            where = f"{path.name}: type {tid!r}" if tid else f"{path.name}: types[{i}]"
            if not isinstance(tid, str) or not _ID.match(tid):
                raise ConfigError(f"{where}: key 'id': required, lower-case [a-z0-9_]")
            if tid in types:
                raise ConfigError(f"{where}: key 'id': duplicate")
            unknown = sorted(str(k) for k in item if k not in TYPE_KEYS)
            if unknown:  # e.g. an unquoted text with a comma inside {...}: YAML splits it into keys
                raise ConfigError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))} "
                                  f"(allowed: {', '.join(TYPE_KEYS)}; quote a text holding a comma)")
            for key in ("label", "description"):
                if not isinstance(item.get(key), str) or not item[key].strip():
                    raise ConfigError(f"{where}: key {key!r}: required text")
            if item.get("category") not in CATEGORIES:
                raise ConfigError(f"{where}: key 'category': one of {', '.join(CATEGORIES)}")
            parent = item.get("parent")
            if parent is not None and not isinstance(parent, str):  # a list or mapping is no id (nor hashable)
                raise ConfigError(f"{where}: key 'parent': a type id, got {parent!r}")
            aliases = item.get("aliases", [])
            if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
                raise ConfigError(f"{where}: key 'aliases': a list of names")
            types[tid] = DeviceType(tid, item["label"], item["category"], item["description"].strip(),
                                    parent, tuple(aliases))
        for t in types.values():
            if t.parent is not None and t.parent not in types:
                raise ConfigError(f"{path.name}: type {t.id!r}: key 'parent': unknown type {t.parent!r}")
        taxonomy = cls(types)
        for t in types.values():
            taxonomy.ancestors(t.id)  # raises on a cycle
        return taxonomy

    def __len__(self) -> int:
        return len(self.types)

    def get(self, type_id: str) -> DeviceType | None:
        return self.types.get(type_id)

    def category_of(self, type_id: str) -> str:
        return self.types[type_id].category

    def resolve(self, name: str) -> str | None:
        """The type id a foreign name or alias stands for ("VoIP Phone" -> "voip_phone"), else None."""
        return self._alias.get(_norm(name))

    def ancestors(self, type_id: str) -> list[str]:
        """Parent chain of a type, nearest first."""
        out: list[str] = []
        current = self.types[type_id].parent
        while current is not None:
            if current in out or len(out) >= MAX_DEPTH:
                raise ConfigError(f"taxonomy: type {type_id!r}: key 'parent': cycle or deeper than {MAX_DEPTH}")
            out.append(current)
            current = self.types[current].parent
        return out
