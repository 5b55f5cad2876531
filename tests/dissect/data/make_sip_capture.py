"""Regenerate the real SIP loopback capture beside this script: Kamailio, two baresip phones and SIPVicious.

Run as root (port 5060; tcpdump): ``.venv/bin/python tests/dissect/data/make_sip_capture.py``. Needs kamailio,
baresip-core and tcpdump (Debian) and the sipvicious tools on PATH (PyPI ``sipvicious``, dev-only, in a venv of
its own). Loopback only: Kamailio on 127.0.0.1:5060 (UDP and TCP), the phones on 127.0.0.2 and 127.0.0.3.

What it records (sip_kamailio_baresip.pcap): phone 1002 registers over TCP (401 Digest challenge, then
credentials, 200); phone 1001 registers over UDP and calls 1002, is challenged 407 by the proxy, which then
relays the INVITE over TCP (its own Via on top) and the 180 back; the caller hangs up (CANCEL, 487) and both
unregister; SIPVicious svmap's OPTIONS (User-Agent 'friendly-scanner') and svcrack's password guesses for
1001 (REGISTERs refused 401) come from 127.0.0.1 in between.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CAPTURE = HERE / "sip_kamailio_baresip.pcap"
PASSWORD = "Lab-2001-pw"  # every lab account's; svcrack's guesses (1000-1005) never hit it
MAX_CAPTURE = 100 * 1024

KAMAILIO_CFG = f"""#!KAMAILIO
debug=2
log_stderror=yes
fork=yes
children=1
listen=udp:127.0.0.1:5060
listen=tcp:127.0.0.1:5060
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "sanity.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "auth.so"
loadmodule "rr.so"
request_route {{
	if (!mf_process_maxfwd_header("10")) {{ sl_send_reply("483", "Too Many Hops"); exit; }}
	if (is_method("OPTIONS") && uri==myself && $rU==$null) {{ sl_send_reply("200", "Keepalive"); exit; }}
	if (is_method("REGISTER")) {{
		if (!pv_www_authenticate("$td", "{PASSWORD}", "0")) {{ www_challenge("$td", "0"); exit; }}
		consume_credentials();
		if (!save("location")) {{ sl_reply_error(); }}
		exit;
	}}
	if (is_method("ACK")) {{ t_relay(); exit; }}
	if (!lookup("location")) {{ sl_send_reply("404", "Not Found"); exit; }}
	if (is_method("INVITE|MESSAGE|OPTIONS") && !pv_proxy_authenticate("$fd", "{PASSWORD}", "0")) {{
		proxy_challenge("$fd", "0"); exit;
	}}
	consume_credentials();
	record_route();
	t_relay();
}}
"""

BARESIP_CFG = """poll_method		epoll
sip_listen		127.0.0.{n}:5060
sip_trans_def		udp
audio_player		aufile,/dev/null
audio_source		ausine,440
audio_alert		aufile,/dev/null
module_path		/usr/lib/baresip/modules
module			g711.so
module			g722.so
module			ausine.so
module			aufile.so
module_app		account.so
module_app		menu.so
"""
ACCOUNTS = {2: f"<sip:1001@127.0.0.1;transport=udp>;auth_pass={PASSWORD};regint=600",
            3: f"<sip:1002@127.0.0.1;transport=tcp>;auth_pass={PASSWORD};regint=600;answermode=auto"}


def _phone(work: Path, n: int) -> Path:
    folder = work / f"ua{n}"
    folder.mkdir()
    (folder / "config").write_text(BARESIP_CFG.format(n=n))
    (folder / "accounts").write_text(ACCOUNTS[n] + "\n")
    return folder


def main() -> int:
    for tool in ("kamailio", "baresip", "tcpdump", "sipvicious_svmap", "sipvicious_svcrack"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not on PATH (see the module docstring)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "kamailio.cfg").write_text(KAMAILIO_CFG)
        dump = subprocess.Popen(["tcpdump", "-i", "lo", "--immediate-mode", "-U", "-n", "-w", str(CAPTURE),
                                 "port 5060"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert dump.stderr is not None
        dump.stderr.readline()  # listening
        kam = subprocess.Popen(["kamailio", "-DD", "-E", "-f", str(work / "kamailio.cfg")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(1.5)
            callee = subprocess.Popen(["baresip", "-f", str(_phone(work, 3)), "-t", "14"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(2)
            caller = subprocess.Popen(["baresip", "-f", str(_phone(work, 2)), "-t", "9", "-e", "/dial 1002"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(4)
            subprocess.run(["sipvicious_svmap", "127.0.0.1"], check=False, capture_output=True, timeout=30)
            subprocess.run(["sipvicious_svcrack", "-u1001", "-r1000-1005", "127.0.0.1"], check=False,
                           capture_output=True, timeout=30)
            caller.wait(timeout=30)
            callee.wait(timeout=30)
        finally:
            kam.send_signal(signal.SIGTERM)
            kam.wait(timeout=10)
            time.sleep(0.5)
            dump.send_signal(signal.SIGINT)
            dump.communicate(timeout=10)
    if CAPTURE.stat().st_size > MAX_CAPTURE:
        sys.exit(f"{CAPTURE} is larger than {MAX_CAPTURE} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
