"""Importers: convert a user's own copy of an external fingerprint database into our rule format."""

# The databases (p0f, Satori, Fingerbank, FoxIO JA4+, Rapid7 Recog) have licences that keep them out of the
# package; ``iotwarden kb import`` converts a copy the user holds into a rule file they keep.

from iotwarden.kb.importers.common import ImportResult, dump_rules

IMPORTERS = ("p0f", "satori", "fingerbank", "ja4", "recog")

__all__ = ["IMPORTERS", "ImportResult", "dump_rules"]
