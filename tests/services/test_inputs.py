"""What an analyze run reads (services/inputs.py): a file's format told by its content, not its name; a folder's
captures, sorted, searched below it, and its Zeek logs read together as one input. Zeek logs below a capture, left
out with the reason, are pinned with the run in tests/services/test_analyze.py."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from iotwarden.services.inputs import expand_paths, sniff_format
from tests.services import builders as b


def test_sniffing_tells_captures_from_zeek_logs_by_content(tmp_path: Path) -> None:
    pcap = b.camera_capture(tmp_path / "a.bin")
    gz = tmp_path / "b.bin"
    gz.write_bytes(gzip.compress(pcap.read_bytes()))
    tsv = b.zeek_conn_log(tmp_path / "c.txt", 3)
    jsonl = tmp_path / "d.txt"
    jsonl.write_text(json.dumps({"ts": 1.0, "uid": "Cx", "id.orig_h": "10.0.0.1"}) + "\n")
    text = tmp_path / "e.txt"
    text.write_text("hello\n")
    assert [sniff_format(p) for p in (pcap, gz, tsv, jsonl, text)] == ["capture", "capture", "zeek", "zeek", None]


def test_a_folder_means_its_captures_sorted_plus_its_zeek_logs_read_together(tmp_path: Path) -> None:
    b.camera_capture(tmp_path / "2.pcap")
    b.second_capture(tmp_path / "1.pcap")
    b.zeek_conn_log(tmp_path / "conn.log", 3)
    (tmp_path / "README").write_text("not a capture")
    assert expand_paths([tmp_path]) == [tmp_path / "1.pcap", tmp_path / "2.pcap", tmp_path]


def test_a_dataset_tree_is_searched_below_the_folder_given(tmp_path: Path) -> None:
    """Datasets keep captures in folders of their own (per device, per protocol), as the three of
    ../shared/data that issue #3 names do: the folder given is searched below, depth first, sorted."""
    (tmp_path / "pcaps" / "cam").mkdir(parents=True)
    (tmp_path / "pcaps" / "plug").mkdir()
    (tmp_path / ".hidden").mkdir()
    b.camera_capture(tmp_path / "pcaps" / "plug" / "idle.pcap")
    b.second_capture(tmp_path / "pcaps" / "cam" / "setup.pcap")
    b.camera_capture(tmp_path / ".hidden" / "x.pcap")
    (tmp_path / "README.md").write_text("a dataset")
    zeek = tmp_path / "zeek"
    zeek.mkdir()
    b.zeek_conn_log(zeek / "conn.log", 3)
    (tmp_path / "linked").symlink_to(tmp_path / "pcaps")  # a link to a folder is not followed (loops, twice read)
    assert expand_paths([tmp_path]) == [tmp_path / "pcaps" / "cam" / "setup.pcap",
                                        tmp_path / "pcaps" / "plug" / "idle.pcap", zeek]
