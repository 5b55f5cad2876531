"""Firmware security: unpacking images in a sandbox, identifying components, SBOMs, vulnerability
matching, hardening checks, SUIT-style signing and golden hashes, and OTA campaigns.

The pipeline is :func:`iotwarden.firmware.analyze.analyze_image`; the CLI is :mod:`iotwarden.cli.firmware`.
"""
