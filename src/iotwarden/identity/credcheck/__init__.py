"""Credential hygiene: scoped, opt-in, rate-limited checks of Telnet, SSH, HTTP Basic and MQTT
services against a default-credential base. Nothing is contacted outside the configured scope."""
