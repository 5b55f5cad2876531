"""Device identity: the device CA, EST enrolment (RFC 7030), certificate lifecycle (rotation, CRL,
OCSP), mutual TLS for MQTT, certificates seen in traffic, and scoped default-credential checks."""
