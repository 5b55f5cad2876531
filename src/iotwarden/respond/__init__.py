"""Incident response: playbooks, quarantine enforcement, certificate revocation, notification, cases."""
