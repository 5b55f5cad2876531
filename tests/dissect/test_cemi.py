"""cEMI frames (KNX 03.06.03 §4) and the application layer services (03.03.07) they carry: addresses, TPCI,
APCI names, the service parameters read, and which services reprogram or reconfigure a device."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotwarden.dissect import cemi
from iotwarden.errors import ParseError
from tests.dissect import knxbuild as k


def test_addresses_in_their_usual_notations() -> None:
    assert cemi.individual(0x110A) == "1.1.10" and cemi.individual(0xFFFF) == "15.15.255"
    assert cemi.group(0x0A03) == "1/2/3" and cemi.group(0xFFFF) == "31/7/255"


@pytest.mark.parametrize(("apci", "name"), [
    (0x000, "A_GroupValue_Read"), (0x040, "A_GroupValue_Response"), (0x081, "A_GroupValue_Write"),
    (0x0C0, "A_IndividualAddress_Write"), (0x100, "A_IndividualAddress_Read"), (0x1C0, "A_ADC_Response"),
    (0x1CA, "A_SystemNetworkParameter_Write"), (0x1FB, "A_MemoryExtended_Write"), (0x204, "A_Memory_Read"),
    (0x28A, "A_Memory_Write"), (0x2C2, "A_UserMemory_Write"), (0x2C3, "unknown"), (0x300, "A_DeviceDescriptor_Read"),
    (0x380, "A_Restart"), (0x381, "A_Restart"), (0x3A1, "A_Restart_Response"), (0x3D1, "A_Authorize_Request"),
    (0x3D3, "A_Key_Write"), (0x3D7, "A_PropertyValue_Write"), (0x3DE, "A_IndividualAddressSerialNumber_Write"),
    (0x3F1, "A_Secure_Service"), (0x3FF, "unknown"),
])
def test_apci_names(apci: int, name: str) -> None:
    assert cemi.apci_name(apci) == name


def test_l_data_fields() -> None:
    f = cemi.parse(k.l_data(0x283, b"\x40\x00\x01\x02\x03", tpci=0x48))
    assert (f["message_name"], f["source"], f["destination"], f["destination_type"]) == ("L_Data.req", "1.1.255",
                                                                                          "1.1.5", "individual")
    assert (f["tpci"], f["sequence_number"], f["apci_name"]) == ("T_Data_Connected", 2, "A_Memory_Write")
    assert (f["memory_count"], f["memory_address"]) == (3, 0x4000)
    assert cemi.operation(f) == ("program", "A_Memory_Write")
    broadcast = cemi.parse(k.l_data(0x0C0, b"\x11\x0a", group=True, dst=0))
    assert broadcast["tpci"] == "T_Data_Broadcast" and broadcast["new_address"] == "1.1.10"


def test_property_messages_have_no_additional_info() -> None:
    f = cemi.parse(bytes([0xFC, 0, 0x0B, 1, 0x34, 0x10, 0x01]))
    assert (f["message_name"], f["interface_object_type"], f["object_instance"]) == ("M_PropRead.req", 11, 1)
    assert (f["property_id"], f["elements"], f["start_index"]) == (0x34, 1, 1)
    assert cemi.operation(f) is None
    assert cemi.operation(cemi.parse(bytes([0xF6, 0, 0x0B, 1, 0x34, 0x10, 0x01, 0]))) == ("config", "M_PropWrite.req")
    assert cemi.operation(cemi.parse(bytes([0xF1, 0]))) == ("restart", "M_Reset.req")


def test_group_writes_and_reads_are_never_operations() -> None:
    for apci in (0x000, 0x040, 0x080, 0x0BF):
        assert cemi.operation(cemi.parse(k.l_data(apci, group=True, dst=0x0A03))) is None


def test_key_material_is_never_kept() -> None:
    key = b"\x11\x22\x33\x44"
    for apci, data in ((0x3D1, b"\x00" + key), (0x3D3, b"\x02" + key)):
        f = cemi.parse(k.l_data(apci, data))
        assert not any(isinstance(v, str) and "11223344" in v for v in f.values())
        assert not any(v == int.from_bytes(key, "big") for v in f.values())


@pytest.mark.parametrize("frame", [b"", b"\x11", bytes([0x11, 0, 0xBC, 0x60, 0x11]), bytes([0xF6, 0, 0x0B]),
                                   bytes([0x11, 5, 1, 2]), k.l_data(0x080)[:-1]])
def test_cut_short(frame: bytes) -> None:
    with pytest.raises(ParseError):
        cemi.parse(frame)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_fuzz_contract(frame: bytes) -> None:
    try:
        fields = cemi.parse(frame)
    except ParseError:
        return
    assert isinstance(fields["message_name"], str)
    found = cemi.operation(fields)
    assert found is None or found[0] in ("program", "config", "restart")
