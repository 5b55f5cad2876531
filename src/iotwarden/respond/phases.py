"""The phases of a case's timeline: NIST SP 800-61 Rev. 2 §3.1-§3.4, the four phases of the incident
response life cycle. One definition, read by respond/cases.py and the response engine, and by ``iotwarden
cases note --phase``'s help, which shows them without importing the store (SQLAlchemy, ~0.25 s CPU)."""

from __future__ import annotations

PREPARATION, DETECTION, CONTAINMENT, POST_INCIDENT = (
    "preparation", "detection_analysis", "containment_eradication_recovery", "post_incident")
PHASES = (PREPARATION, DETECTION, CONTAINMENT, POST_INCIDENT)
