"""Reference labels the checks cite: NISTIR 8259A device capabilities, ETSI EN 303 645 provisions,
IEC 62443-3-3 system requirements and CWE weaknesses, spelled one way everywhere."""

from __future__ import annotations

# NISTIR 8259A (2020), "IoT Device Cybersecurity Capability Core Baseline", §3 capabilities
NIST_IDENTIFICATION = "NISTIR 8259A: Device Identification"
NIST_CONFIGURATION = "NISTIR 8259A: Device Configuration"
NIST_DATA_PROTECTION = "NISTIR 8259A: Data Protection"
NIST_LOGICAL_ACCESS = "NISTIR 8259A: Logical Access to Interfaces"
NIST_SOFTWARE_UPDATE = "NISTIR 8259A: Software Update"
NIST_STATE_AWARENESS = "NISTIR 8259A: Cybersecurity State Awareness"

# ETSI EN 303 645 V2.1.1 (2020-06), §5 provisions
ETSI_NO_DEFAULT_PASSWORDS = "ETSI EN 303 645 5.1-1 (no universal default passwords)"
ETSI_KEEP_UPDATED = "ETSI EN 303 645 5.3-2 (keep software updated)"
ETSI_BEST_PRACTICE_CRYPTO = "ETSI EN 303 645 5.5-1 (communicate securely: best practice cryptography)"
ETSI_AUTHENTICATED_ACCESS = "ETSI EN 303 645 5.5-4 (network access to device functionality only after authentication)"
ETSI_AUTHENTICATED_CONFIG = "ETSI EN 303 645 5.5-5 (security-relevant changes only after authentication)"
ETSI_PROTECT_CREDENTIALS = "ETSI EN 303 645 5.5-7 (protect security parameters in transit)"
ETSI_MINIMISE_SURFACE = "ETSI EN 303 645 5.6-1 (disable unused interfaces)"
ETSI_MINIMISE_DISCLOSURE = "ETSI EN 303 645 5.6-2 (no unauthenticated disclosure)"
ETSI_SOFTWARE_INTEGRITY = "ETSI EN 303 645 5.7-1 (verify software with secure boot/integrity)"
ETSI_PERSONAL_DATA = "ETSI EN 303 645 5.8-1 (protect personal data in transit)"

# IEC 62443-3-3 (2013) system requirements, for OT devices
IEC_62443_SR_1_1 = "IEC 62443-3-3 SR 1.1 (human user identification and authentication)"
IEC_62443_SR_2_1 = "IEC 62443-3-3 SR 2.1 (authorisation enforcement)"
IEC_62443_SR_3_4 = "IEC 62443-3-3 SR 3.4 (software and information integrity)"
IEC_62443_SR_5_1 = "IEC 62443-3-3 SR 5.1 (network segmentation)"

CWE_CLEARTEXT = "CWE-319 (Cleartext Transmission of Sensitive Information)"
CWE_DEFAULT_CREDENTIALS = "CWE-1392 (Use of Default Credentials)"
CWE_WEAK_CREDENTIALS = "CWE-1391 (Use of Weak Credentials)"
CWE_MISSING_AUTH = "CWE-306 (Missing Authentication for Critical Function)"
CWE_BROKEN_CRYPTO = "CWE-327 (Use of a Broken or Risky Cryptographic Algorithm)"
CWE_WEAK_ENCRYPTION = "CWE-326 (Inadequate Encryption Strength)"
CWE_CERT_VALIDATION = "CWE-295 (Improper Certificate Validation)"
CWE_CERT_EXPIRED = "CWE-298 (Improper Validation of Certificate Expiration)"
CWE_UNMAINTAINED = "CWE-1104 (Use of Unmaintained Third Party Components)"
CWE_EXPOSED_METHOD = "CWE-749 (Exposed Dangerous Method or Function)"
CWE_WRONG_SPHERE = "CWE-668 (Exposure of Resource to Wrong Sphere)"
CWE_ACCESS_CONTROL = "CWE-284 (Improper Access Control)"
CWE_INTEGRITY = "CWE-494 (Download of Code Without Integrity Check)"
