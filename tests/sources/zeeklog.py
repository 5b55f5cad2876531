"""Write a Zeek log as Zeek's ASCII writer does, in either of its forms: TSV with its header block, or JSON lines
(``LogAscii::use_json``: dotted column names, unset columns left out, counts as numbers, bools as true/false,
sets and vectors as arrays)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from iotwarden.errors import ParseError
from iotwarden.model import Observation
from iotwarden.services.analyze import analyze
from iotwarden.sources.zeek_join import Joiner
from iotwarden.store import Store
from iotwarden.store.alert_models import AlertRow, FindingRow
from iotwarden.store.schema import DeviceRow

FORMATS = ("tsv", "json")


def _json_value(text: str, zeek_type: str) -> Any:
    if zeek_type.startswith(("set[", "vector[")):
        inner = zeek_type[zeek_type.index("[") + 1 : -1]
        return [] if text == "(empty)" else [_json_value(v, inner) for v in text.split(",")]
    if zeek_type in ("count", "int", "port"):
        return int(text)
    if zeek_type in ("time", "interval", "double"):
        return float(text)
    if zeek_type == "bool":
        return text == "T"
    return text


def write_log(folder: Path, path: str, columns: list[tuple[str, str]], rows: list[list[str]], fmt: str) -> Path:
    """``folder/<path>.log`` holding ``rows`` (TSV text per column, "-" unset) of ``columns`` (name, Zeek type)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{path}.log"
    names, types = [c[0] for c in columns], [c[1] for c in columns]
    if fmt == "tsv":
        head = (f"#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\t{path}\n"
                f"#open\t2023-11-14-22-00-00\n#fields\t" + "\t".join(names) + "\n#types\t" + "\t".join(types) + "\n")
        out.write_text(head + "".join("\t".join(r) + "\n" for r in rows) + "#close\t2023-11-14-23-00-00\n")
    else:
        lines = [json.dumps({n: _json_value(v, t) for n, t, v in zip(names, types, r, strict=True) if v != "-"})
                 for r in rows]
        out.write_text("".join(line + "\n" for line in lines))
    return out


ID_COLUMNS = [("ts", "time"), ("uid", "string"), ("id.orig_h", "addr"), ("id.orig_p", "port"),
              ("id.resp_h", "addr"), ("id.resp_p", "port")]
CONN_COLUMNS = [*ID_COLUMNS, ("proto", "enum"), ("service", "string"), ("duration", "interval"),
                ("orig_bytes", "count"), ("resp_bytes", "count"), ("conn_state", "string"), ("history", "string"),
                ("orig_pkts", "count"), ("orig_ip_bytes", "count"), ("resp_pkts", "count"),
                ("resp_ip_bytes", "count"), ("orig_l2_addr", "string"), ("resp_l2_addr", "string")]


def conn_row(ts: float, uid: str, orig: tuple[str, int, str], resp: tuple[str, int, str], *, proto: str,
             service: str) -> list[str]:
    """A conn.log row (Zeek's mac-logging columns included) of a short exchange: (ip, port, mac) per end."""
    history = "ShADadFf" if proto == "tcp" else "Dd"
    return [f"{ts:.6f}", uid, orig[0], str(orig[1]), resp[0], str(resp[1]), proto, service, "0.2", "60", "120",
            "SF", history, "4", "220", "4", "280", orig[2], resp[2]]


def ids_of(obs: Observation, *, from_orig: bool = True) -> dict[str, Any]:
    """The Zeek id columns of the connection a packet Observation belongs to (its sender the originator or not)."""
    orig, resp = ((obs.src_ip, obs.src_port), (obs.dst_ip, obs.dst_port)) if from_orig else (
        (obs.dst_ip, obs.dst_port), (obs.src_ip, obs.src_port))
    return {"ts": obs.ts, "uid": "C1", "id.orig_h": orig[0], "id.orig_p": orig[1], "id.resp_h": resp[0],
            "id.resp_p": resp[1]}


def assert_same_as_packet(ours: Observation, packet: Observation, *, unlogged: set[str], **rewritten: Any) -> None:
    """Zeek's Observation is the dissector's: same proto, kind, ends and fields, less those Zeek does not log
    (and the few it logs otherwise or only Zeek gives, in ``rewritten``)."""
    assert (ours.proto, ours.kind, ours.src_ip, ours.src_port, ours.dst_ip, ours.dst_port) == (
        packet.proto, packet.kind, packet.src_ip, packet.src_port, packet.dst_ip, packet.dst_port)
    expected = {k: v for k, v in packet.fields.items() if k not in unlogged and v is not None}
    assert ours.fields == {**expected, **rewritten}


@dataclass(frozen=True)
class Stored:
    """What ``analyze`` of a folder of Zeek logs left in a fresh store: devices by key, alerts and findings."""

    devices: dict[str, DeviceRow]
    alerts: list[AlertRow]
    findings: list[FindingRow]


def analysed(folder: Path, db: Path) -> Stored:
    """``analyze`` of ``folder`` into a new SQLite store at ``db`` (every file read completely), what it stored."""
    with Store(f"sqlite:///{db}") as store:
        report = analyze([folder], store)
        assert [f.status for f in report.files] == ["complete"]
        with store.session() as s:
            return Stored({d.key: d for d in s.scalars(select(DeviceRow))}, list(s.scalars(select(AlertRow))),
                          list(s.scalars(select(FindingRow))))


def assert_maps_or_parse_error(log_type: str, record: dict[str, object], ts: float) -> None:
    """A fuzzed Zeek record of ``log_type`` maps to JSON-safe Observations or raises ParseError, nothing else."""
    try:
        observations, _ = Joiner().map(log_type, {"id.orig_h": "10.0.0.1", "id.resp_h": "10.0.0.2", **record,
                                                   "ts": ts})
    except ParseError:
        return
    json.dumps([o.to_dict() for o in observations])  # fields stay JSON-compatible
