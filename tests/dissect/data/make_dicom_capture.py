"""Regenerate the real DICOM loopback capture beside this script: pynetdicom SCU and SCP on 127.0.0.1.

Run as root (tcpdump): ``.venv/bin/python tests/dissect/data/make_dicom_capture.py``. Needs tcpdump (Debian) and
pynetdicom (PyPI, MIT; dev extra only, never a runtime dependency). Loopback only.

What it records (dicom_pynetdicom.pcap): an SCP (AE "ARCHIVE", storage and verification SCP, pynetdicom's
defaults) on 127.0.0.1:11112; an SCU (AE "CT_SCANNER") on 127.0.0.2 associates for Verification and CT Image
Storage, sends C-ECHO, then C-STORE of one synthetic 8x8 CT image (no real patient: name "SYNTHETIC^TEST",
id "SYN0001", generated UIDs), and releases; then an association with a called AE title the SCP does not
answer to ("WRONG_AE"), which the SCP rejects (A-ASSOCIATE-RJ, called AE title not recognised).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid
from pynetdicom import AE, AllStoragePresentationContexts, evt
from pynetdicom.sop_class import Verification

HERE = Path(__file__).resolve().parent
CAPTURE = HERE / "dicom_pynetdicom.pcap"
PORT = 11112
MAX_CAPTURE = 64 * 1024


def synthetic_ct() -> Dataset:
    """A tiny CT image with made-up identifiers: nothing in it belongs to anyone."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientName = "SYNTHETIC^TEST"
    ds.PatientID = "SYN0001"
    ds.Modality = "CT"
    ds.Rows = ds.Columns = 8
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.PixelData = bytes(range(128))
    return ds


def main() -> int:
    if shutil.which("tcpdump") is None:
        print("needs tcpdump", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "dicom.pcap"
        dump = subprocess.Popen(["tcpdump", "-i", "lo", "-U", "-w", str(raw), "-s", "0", f"tcp port {PORT}"],
                                stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        scp = AE(ae_title="ARCHIVE")
        scp.supported_contexts = AllStoragePresentationContexts
        scp.add_supported_context(Verification)
        server = scp.start_server(("127.0.0.1", PORT), block=False,
                                  evt_handlers=[(evt.EVT_C_STORE, lambda event: 0x0000)])
        try:
            scu = AE(ae_title="CT_SCANNER")
            scu.add_requested_context(Verification)
            scu.add_requested_context(CTImageStorage)
            assoc = scu.associate("127.0.0.1", PORT, ae_title="ARCHIVE", bind_address=("127.0.0.2", 0))
            if not assoc.is_established:
                raise SystemExit("association failed")
            assoc.send_c_echo()
            assoc.send_c_store(synthetic_ct())
            assoc.release()
            scp.require_called_aet = True
            rejected = scu.associate("127.0.0.1", PORT, ae_title="WRONG_AE", bind_address=("127.0.0.2", 0))
            if rejected.is_established:
                raise SystemExit("the wrong called AE title was accepted")
            time.sleep(0.5)
        finally:
            server.shutdown()
            time.sleep(0.5)
            dump.terminate()
            dump.wait(timeout=10)
        data = raw.read_bytes()
    if len(data) > MAX_CAPTURE:
        print(f"capture too large ({len(data)} bytes)", file=sys.stderr)
        return 1
    CAPTURE.write_bytes(data)
    print(f"{CAPTURE.name}: {len(data)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
