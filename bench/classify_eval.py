"""Classification accuracy on every labelled device at hand: the real captures of the shared data
(IOTWARDEN_SHARED_DATA, else ../shared/data: sweep_inputs.SHARED_DATA; labeled_locks_cams, nku_lifecycle,
ics_iti where the device is known) and the lab scenarios (their ground truth). Runs ``analyze`` on each,
prints vendor and type per device with the evidence, and the accuracy per dataset; models too, where the
label names one.

    python bench/classify_eval.py                 # everything
    python bench/classify_eval.py --only real     # the real captures only
    python bench/classify_eval.py --json out.json # also write the per-device table

Accuracy counts a vendor as right when it is one of the label's names (white-label products accept
the maker the traffic names, listed with the label), a type as right when it is the labelled type or
a more specific kind of it (taxonomy ancestors), a model as right when it is a spelling of the
labelled one or names it less fully (inventory/modelnames.py same_model). "Unknown" is never right,
but is told apart from wrong in the table: a wrong answer misleads, an unknown one asks for more
evidence.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from iotwarden.inventory.modelnames import same_model
from iotwarden.kb import KnowledgeBase
from iotwarden.kb.oui import VendorNames
from iotwarden.lab.generator import generate, load_scenario
from iotwarden.services.analyze import analyze
from iotwarden.store import Store
from iotwarden.store.schema import DeviceRow
from sweep_inputs import PCAPS as SHARED
from sweep_inputs import SCENARIOS

LAB_SCENARIOS = ("small", "enterprise")
LAB_TYPE_NAMES = {"phone": "mobile_phone"}  # the lab's word for a handset (tests/inventory/test_lab_truth.py)


@dataclass(frozen=True)
class Label:
    """One labelled real device: where it is, how to find it, what it is."""

    dataset: str
    name: str
    captures: tuple[str, ...]  # paths under ../shared/data/pcaps
    mac: str | None  # the device's key is mac:<mac>; else found by ``ip``
    ip: str | None
    vendors: frozenset[str]  # acceptable vendor names (the brand, and for white-label goods the maker)
    types: frozenset[str]  # acceptable taxonomy types (None: the label does not say)
    source: str  # where the label comes from
    model: str | None = None  # the model, where the label (or the device's own identity answer) names it


def _locks_cams(name: str, mac: str, vendors: set[str], types: set[str]) -> Label:
    return Label("labeled_locks_cams", name, (f"labeled_locks_cams/pcaps/{name}.pcap",), mac, None,
                 frozenset(vendors), frozenset(types), "labeled_locks_cams/devices.csv")


# Labels transcribed from each dataset's own device lists. Sifely and Ultraloq sell white-label
# hardware: the TTLock (Sciener) platform and U-tec are the makers the traffic names.
REAL: tuple[Label, ...] = (
    _locks_cams("blink-cam-01", "f4:b8:5e:ff:2b:1b", {"Blink"}, {"camera"}),
    _locks_cams("blink-cam-02", "f4:b8:5e:35:67:b0", {"Blink"}, {"camera"}),
    _locks_cams("blink-cam-03", "f4:b8:5e:cd:fe:2f", {"Blink"}, {"camera"}),
    _locks_cams("schlage-lock-01", "78:db:2f:db:43:48", {"Schlage"}, {"door_lock"}),
    _locks_cams("sifely-hub-01", "f4:cf:a2:eb:59:c4", {"Sifely", "Sciener (TTLock)"}, {"door_lock", "smart_hub"}),
    _locks_cams("lockly-hub-01", "24:6f:28:d9:a7:64", {"Lockly"}, {"door_lock", "smart_hub"}),
    _locks_cams("ultraloq-hub-01", "a4:cf:12:32:5b:88", {"U-tec", "Ultraloq"}, {"door_lock", "smart_hub"}),
    Label("nku_lifecycle", "xiaobai_Y2camera",
          ("nku_lifecycle/pcaps/xiaobai_Y2camera_lifecycle/xiaobai_Y2camera_setup.pcap",), None, "192.168.1.165",
          frozenset({"Xiaomi"}), frozenset({"camera"}), "nku_lifecycle pcaps/device-IP.xlsx, device-list.xlsx"),
    Label("nku_lifecycle", "xiaodu_plug",
          ("nku_lifecycle/pcaps/xiaodu_plug_lifecycle/xiaodu_plug_setup.pcap",
           "nku_lifecycle/pcaps/xiaodu_plug/xiaodu_plug.pcap"),
          None, "192.168.1.221", frozenset({"Baidu"}), frozenset({"smart_plug"}),
          "nku_lifecycle pcaps/device-IP.xlsx, device-list.xlsx"),
    Label("ics_iti", "s7-300 (TIA go online)", ("ics_iti/pcaps/s7/tia_s300_goOnline.pcapng",), "00:0e:8c:d0:f9:cb",
          None, frozenset({"Siemens"}), frozenset({"plc"}), "capture name and the S7 SZL module identification",
          "SIMATIC S7-300"),
    Label("ics_iti", "s7 (reading PLC status)", ("ics_iti/pcaps/s7/s7comm_reading_plc_status.pcap",),
          "00:1b:1b:23:eb:3b", None, frozenset({"Siemens"}), frozenset({"plc"}), "capture name (s7-pcaps)"),
    # the CIP target names itself 1756-ENBT/A: the ControlLogix EtherNet/IP bridge module of a PLC chassis
    Label("ics_iti", "EtherNet/IP target", ("ics_iti/pcaps/EthernetIP/enip_test.pcap",), "00:19:07:24:3c:ca", None,
          frozenset({"Rockwell Automation"}), frozenset({"ot_gateway", "plc"}), "CIP identity answer in the capture",
          "1756-ENBT/A"),
    # an MMS server on ISO-TSAP (tcp/102) naming itself AREVA e-terracomm: the capture is ICCP between two control
    # centres (TASE.2 objects Bilateral_Table_ID, TASE2_Version, Supported_Features, IEC 60870-6-503; domains
    # BELLEVUE and KIRKLAND, EMS transfer sets), so the server is a control centre's SCADA/EMS node, not an IED
    Label("ics_iti", "ICCP (TASE.2) server (MMS)",
          ("ics_iti/pcaps/IEC61850/8d7c7db0-9804-012b-b2a6-0016cb8cea27.pcap",),
          "00:10:18:0a:b1:92", None, frozenset({"Areva T&D"}), frozenset({"scada_server"}),
          "MMS Identify answer and the TASE.2 objects in the capture", "e-terracomm"),
)


@dataclass
class Row:
    dataset: str
    name: str
    expected_vendor: list[str]
    expected_type: list[str]
    vendor: str | None = None
    vendor_confidence: float | None = None
    device_type: str | None = None
    type_confidence: float | None = None
    expected_model: str | None = None
    model: str | None = None
    vendor_ok: bool = False
    type_ok: bool = False
    model_ok: bool = False
    found: bool = True
    vendor_evidence: list[str] = field(default_factory=list)
    type_evidence: list[str] = field(default_factory=list)


def _evidence(conclusion: dict[str, Any] | None) -> list[str]:
    if not conclusion:
        return []
    out = []
    for e in conclusion.get("evidence", [])[:4]:
        mark = "+" if e.get("agrees") else "-"
        out.append(f"{mark}{e['rule_id']}={str(e['value'])[:48]}({e['weight']})")
    return out


def _type_ok(kb: KnowledgeBase, found: str | None, expected: frozenset[str]) -> bool:
    if found is None:
        return False
    return any(found == t or t in kb.taxonomy.ancestors(found) for t in expected)


def _devices(paths: list[Path], workdir: Path, tag: str) -> list[DeviceRow]:
    store = Store(f"sqlite:///{workdir / f'{tag}.db'}")
    try:
        analyze(paths, store)
        with store.session() as session:
            rows = list(session.query(DeviceRow))
            session.expunge_all()
            return rows
    finally:
        store.close()


def _row(kb: KnowledgeBase, dataset: str, name: str, dev: DeviceRow | None, *, vendors: frozenset[str],
         types: frozenset[str], model: str | None = None) -> Row:
    row = Row(dataset, name, sorted(vendors), sorted(types), expected_model=model)
    if dev is None:
        row.found = False
        return row
    cls = dev.classification or {}
    row.vendor, row.vendor_confidence = dev.vendor, dev.vendor_confidence
    row.device_type, row.type_confidence = dev.device_type, dev.device_type_confidence
    row.vendor_ok = dev.vendor in vendors
    row.model = (cls.get("model") or {}).get("value")
    row.model_ok = bool(model and row.model and same_model(row.model, model))
    row.type_ok = _type_ok(kb, dev.device_type, types)
    row.vendor_evidence = _evidence(cls.get("vendor"))
    row.type_evidence = _evidence(cls.get("device_type"))
    return row


def missing_captures(label: Label) -> list[Path]:
    """The label's captures that are not under SHARED (a worktree without ../shared beside it lacks them all)."""
    return [p for p in (SHARED / c for c in label.captures) if not p.is_file()]


def real_rows(kb: KnowledgeBase, workdir: Path) -> list[Row]:
    rows = []
    for i, label in enumerate(REAL):
        paths = [SHARED / c for c in label.captures]
        if missing := missing_captures(label):
            print(f"skip {label.name}: capture missing: {missing[0]}", file=sys.stderr)
            continue
        devices = _devices(paths, workdir, f"real{i}")
        if label.mac:
            dev = next((d for d in devices if d.key == f"mac:{label.mac}"), None)
        else:
            dev = next((d for d in devices if label.ip in (d.ips or [])), None)
        rows.append(_row(kb, label.dataset, label.name, dev, vendors=label.vendors, types=label.types,
                         model=label.model))
    return rows


def lab_rows(kb: KnowledgeBase, workdir: Path, scenarios: tuple[str, ...] = LAB_SCENARIOS) -> list[Row]:
    names = VendorNames.load()
    rows = []
    for scenario in scenarios:
        pcap, truth = workdir / f"{scenario}.pcap", workdir / f"{scenario}.truth.json"
        generate(load_scenario(SCENARIOS / f"{scenario}.yaml"), pcap, truth)
        devices = {d.key: d for d in _devices([pcap], workdir, scenario)}
        for t in json.loads(truth.read_text())["devices"]:
            tid = kb.taxonomy.resolve(LAB_TYPE_NAMES.get(t["type"], t["type"]))
            rows.append(_row(kb, f"lab:{scenario}", t["id"], devices.get(f"mac:{t['mac']}"),
                             vendors=frozenset({names.short(t["vendor"])}), types=frozenset({tid} if tid else ()),
                             model=t.get("model") or None))
    return rows


def summary(rows: list[Row]) -> dict[str, dict[str, Any]]:
    by: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        by[r.dataset].append(r)
        by["all real" if not r.dataset.startswith("lab:") else "all lab"].append(r)
    out = {}
    for name, rs in by.items():
        typed = [r for r in rs if r.expected_type]
        out[name] = {
            "devices": len(rs),
            "vendor_right": sum(r.vendor_ok for r in rs),
            "vendor_unknown": sum(r.vendor is None for r in rs),
            "type_right": sum(r.type_ok for r in typed),
            "type_unknown": sum(r.device_type is None for r in typed),
            "typed": len(typed),
            "models": sum(r.expected_model is not None for r in rs),
            "model_right": sum(r.model_ok for r in rs),
            "model_wrong": sum(bool(r.expected_model and r.model and not r.model_ok) for r in rs),
        }
    return out


def _mark(ok: bool, value: str | None) -> str:
    return "ok " if ok else ("?? " if value is None else "XX ")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", choices=("real", "lab"), help="evaluate one family of datasets")
    ap.add_argument("--json", type=Path, help="write the per-device rows and the summary here")
    ap.add_argument("--quiet", action="store_true", help="only the summary")
    args = ap.parse_args(argv)
    missing = [label.name for label in REAL if missing_captures(label)] if args.only in (None, "real") else []
    if len(missing) == len(REAL):  # an accuracy without the real captures reads like one with them
        print(f"error: none of the {len(REAL)} labelled real captures is under {SHARED} (a worktree needs ../shared "
              "beside it, or IOTWARDEN_SHARED_DATA; --only lab evaluates the lab scenarios alone)", file=sys.stderr)
        return 2
    kb = KnowledgeBase.load()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="iw-eval-") as tmp:
        if args.only in (None, "real"):
            rows += real_rows(kb, Path(tmp))
        if args.only in (None, "lab"):
            rows += lab_rows(kb, Path(tmp))
    if not args.quiet:
        for r in rows:
            print(f"{r.dataset:18} {r.name:26} vendor {_mark(r.vendor_ok, r.vendor)}{r.vendor!s:22} "
                  f"(want {'/'.join(r.expected_vendor)})  type {_mark(r.type_ok, r.device_type)}"
                  f"{r.device_type!s:16} (want {'/'.join(r.expected_type) or '-'})")
            if not (r.vendor_ok and r.type_ok):
                print(f"{'':46}vendor evidence: {' '.join(r.vendor_evidence) or '-'}")
                print(f"{'':46}type evidence:   {' '.join(r.type_evidence) or '-'}")
    stats = summary(rows)
    print()
    print(f"{'dataset':20} {'devices':>7} {'vendor':>14} {'v.unknown':>9} {'type':>14} {'t.unknown':>9} "
          f"{'model':>14} {'m.wrong':>7}")
    for name in sorted(stats):
        s = stats[name]
        v = f"{s['vendor_right']}/{s['devices']} {100 * s['vendor_right'] / max(s['devices'], 1):5.1f}%"
        t = f"{s['type_right']}/{s['typed']} {100 * s['type_right'] / max(s['typed'], 1):5.1f}%"
        m = f"{s['model_right']}/{s['models']} {100 * s['model_right'] / max(s['models'], 1):5.1f}%"
        print(f"{name:20} {s['devices']:7} {v:>14} {s['vendor_unknown']:9} {t:>14} {s['type_unknown']:9} "
              f"{m:>14} {s['model_wrong']:7}")
    if missing:
        print(f"warning: {len(missing)} of {len(REAL)} labelled real captures missing under {SHARED}, not evaluated: "
              f"{', '.join(missing)}")
    if args.json:
        args.json.write_text(json.dumps({"rows": [asdict(r) for r in rows], "summary": stats, "missing": missing},
                                        indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
