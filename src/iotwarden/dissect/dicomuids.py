"""Names of the common DICOM SOP classes (PS3.6 Annex A, Table A-1 "UID Values"), and which of them store
images or query archives: what an association's presentation contexts say the two ends exchange.

A small table instead of pydicom's full dictionary (no new runtime dependency); names are PS3.6's, and
``tests/dissect/test_dicomuids.py`` compares them with pydicom's dictionary where pydicom is installed.
"""

from __future__ import annotations

SOP_CLASSES: dict[str, str] = {
    "1.2.840.10008.1.1": "Verification SOP Class",
    "1.2.840.10008.1.20.1": "Storage Commitment Push Model SOP Class",
    "1.2.840.10008.3.1.2.3.3": "Modality Performed Procedure Step SOP Class",
    "1.2.840.10008.5.1.1.9": "Basic Grayscale Print Management Meta SOP Class",
    "1.2.840.10008.5.1.4.1.1.1": "Computed Radiography Image Storage",
    "1.2.840.10008.5.1.4.1.1.1.1": "Digital X-Ray Image Storage - For Presentation",
    "1.2.840.10008.5.1.4.1.1.1.1.1": "Digital X-Ray Image Storage - For Processing",
    "1.2.840.10008.5.1.4.1.1.1.2": "Digital Mammography X-Ray Image Storage - For Presentation",
    "1.2.840.10008.5.1.4.1.1.1.3": "Digital Intra-Oral X-Ray Image Storage - For Presentation",
    "1.2.840.10008.5.1.4.1.1.2": "CT Image Storage",
    "1.2.840.10008.5.1.4.1.1.2.1": "Enhanced CT Image Storage",
    "1.2.840.10008.5.1.4.1.1.3.1": "Ultrasound Multi-frame Image Storage",
    "1.2.840.10008.5.1.4.1.1.4": "MR Image Storage",
    "1.2.840.10008.5.1.4.1.1.4.1": "Enhanced MR Image Storage",
    "1.2.840.10008.5.1.4.1.1.6.1": "Ultrasound Image Storage",
    "1.2.840.10008.5.1.4.1.1.6.2": "Enhanced US Volume Storage",
    "1.2.840.10008.5.1.4.1.1.7": "Secondary Capture Image Storage",
    "1.2.840.10008.5.1.4.1.1.11.1": "Grayscale Softcopy Presentation State Storage",
    "1.2.840.10008.5.1.4.1.1.12.1": "X-Ray Angiographic Image Storage",
    "1.2.840.10008.5.1.4.1.1.12.2": "X-Ray Radiofluoroscopic Image Storage",
    "1.2.840.10008.5.1.4.1.1.13.1.3": "Breast Tomosynthesis Image Storage",
    "1.2.840.10008.5.1.4.1.1.20": "Nuclear Medicine Image Storage",
    "1.2.840.10008.5.1.4.1.1.88.11": "Basic Text SR Storage",
    "1.2.840.10008.5.1.4.1.1.88.22": "Enhanced SR Storage",
    "1.2.840.10008.5.1.4.1.1.88.33": "Comprehensive SR Storage",
    "1.2.840.10008.5.1.4.1.1.88.67": "X-Ray Radiation Dose SR Storage",
    "1.2.840.10008.5.1.4.1.1.104.1": "Encapsulated PDF Storage",
    "1.2.840.10008.5.1.4.1.1.128": "Positron Emission Tomography Image Storage",
    "1.2.840.10008.5.1.4.1.1.481.1": "RT Image Storage",
    "1.2.840.10008.5.1.4.1.2.1.1": "Patient Root Query/Retrieve Information Model - FIND",
    "1.2.840.10008.5.1.4.1.2.1.2": "Patient Root Query/Retrieve Information Model - MOVE",
    "1.2.840.10008.5.1.4.1.2.1.3": "Patient Root Query/Retrieve Information Model - GET",
    "1.2.840.10008.5.1.4.1.2.2.1": "Study Root Query/Retrieve Information Model - FIND",
    "1.2.840.10008.5.1.4.1.2.2.2": "Study Root Query/Retrieve Information Model - MOVE",
    "1.2.840.10008.5.1.4.1.2.2.3": "Study Root Query/Retrieve Information Model - GET",
    "1.2.840.10008.5.1.4.31": "Modality Worklist Information Model - FIND",
}

# Storage SOP classes (PS3.4 Annex B) live under 1.2.840.10008.5.1.4.1.1; query/retrieve (PS3.4 Annex C)
# under 1.2.840.10008.5.1.4.1.2; Modality Worklist (PS3.4 Annex K) is 1.2.840.10008.5.1.4.31.
STORAGE_ROOT = "1.2.840.10008.5.1.4.1.1."
QUERY_RETRIEVE_ROOT = "1.2.840.10008.5.1.4.1.2."
DICOM_ROOT = "1.2.840.10008."


def sop_class_name(uid: str) -> str:
    """PS3.6's name of a SOP class UID, the UID itself when the table does not hold it."""
    return SOP_CLASSES.get(uid, uid)


def carries_phi(uid: str) -> bool:
    """Whether a SOP class moves patient data: a storage class (images, reports, dose) or a query,
    retrieve or worklist model (patient and study attributes); not Verification, not print."""
    return uid.startswith((STORAGE_ROOT, QUERY_RETRIEVE_ROOT)) or uid == "1.2.840.10008.5.1.4.31"
