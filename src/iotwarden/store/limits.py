"""Bounds on what the store keeps and lists, which the front ends show as their options' defaults: one
definition each, read by the writer and the services, importable without SQLAlchemy."""

# connection attempts that carried nothing (a scan's SYNs, refused connects) stored per capture; past
# it they are still analysed, only counted instead of stored: an IoT-23 capture holds tens of millions
MAX_PROBE_FLOWS = 1_000_000
DEFAULT_FLOW_LIMIT = 100  # flows listed when no --limit is given
DEFAULT_FINDING_LIMIT = 1000  # findings listed when no limit is given
