"""Capture sources: files, live interfaces and Zeek logs, all feeding the same engine and analyzers."""
