"""The local vulnerability database: feed importers (NVD JSON 2.0, CVE JSON 5, OSV, Alpine secdb,
CISA KEV), version comparison and CPE 2.3 matching, and ranking of the matches for one image."""
