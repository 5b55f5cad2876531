"""Regenerate the real loopback captures beside this script: real servers and clients, tcpdump on "lo".

Run as root (well-known ports; tcpdump): ``.venv/bin/python tests/dissect/data/make_captures.py``.
Needs pyftpdlib and aiocoap (dev-only, PyPI), libcoap3-bin and tcpdump (Debian). Loopback only.
"""

from __future__ import annotations

import asyncio
import contextlib
import ftplib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"  # loopback only: nothing generated here leaves the machine
FTP_PORT = 21  # the dissector's port (RFC 959 §3.2); must be free on 127.0.0.1
COAP_PORT = 5683  # RFC 7252 §6.1 default port
SETTLE = 0.5  # seconds to let the last segments (FIN/ACK) reach tcpdump before it stops
MAX_CAPTURE = 100 * 1024  # bytes: fixtures stay small (checked after writing)


def _require_free(port: int, kind: int) -> None:
    with socket.socket(socket.AF_INET, kind) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do: TIME_WAIT is no owner
        try:
            s.bind((HOST, port))
        except OSError as exc:
            sys.exit(f"{HOST}:{port} is in use ({exc}); stop that service and run again")


@contextlib.contextmanager
def tcpdump(path: Path, bpf: str) -> Iterator[None]:
    """Capture loopback traffic matching ``bpf`` into ``path`` while the block runs."""
    proc = subprocess.Popen(["tcpdump", "-i", "lo", "--immediate-mode", "-U", "-n", "-w", str(path), bpf],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    proc.stderr.readline()  # "tcpdump: listening on lo, ..." once the capture is open
    try:
        yield
        time.sleep(SETTLE)
    finally:
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=10)
        print(err.decode().strip(), file=sys.stderr)  # tcpdump's "N packets captured" summary
    if path.stat().st_size > MAX_CAPTURE:
        sys.exit(f"{path} is larger than {MAX_CAPTURE} bytes")


def _ftp_client() -> ftplib.FTP:
    """A connected ftplib client: cleartext FTP is exactly the traffic this capture must record."""
    ftp = ftplib.FTP()  # noqa: S321 - plain FTP on purpose, to loopback only
    ftp.connect(HOST, FTP_PORT)
    return ftp


def make_ftp(path: Path) -> None:
    """pyftpdlib with user admin/admin and anonymous; ftplib and curl clients (RFC 959)."""
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import FTPServer

    _require_free(FTP_PORT, socket.SOCK_STREAM)
    with tempfile.TemporaryDirectory() as home:
        (Path(home) / "firmware.bin").write_bytes(b"\x00" * 64)
        auth = DummyAuthorizer()
        auth.add_user("admin", "admin", home, perm="elr")
        auth.add_anonymous(home)
        handler = FTPHandler
        handler.authorizer = auth
        server = FTPServer((HOST, FTP_PORT), handler)
        thread = threading.Thread(target=server.serve_forever, kwargs={"timeout": 0.1}, daemon=True)
        thread.start()
        try:
            with tcpdump(path, f"tcp port {FTP_PORT}"):
                with _ftp_client() as ftp, contextlib.suppress(ftplib.error_perm):  # wrong password: 530
                    ftp.login("admin", "wrong-password")
                with _ftp_client() as ftp:  # the right one, then LIST over a passive data connection
                    ftp.login("admin", "admin")
                    ftp.set_pasv(True)
                    ftp.retrlines("LIST", lambda _line: None)
                with _ftp_client() as ftp:  # anonymous (RFC 1635): ftplib sends "anonymous@" as PASS
                    ftp.login()
                if shutil.which("curl"):
                    subprocess.run(["curl", "-s", "-o", "/dev/null", f"ftp://admin:admin@{HOST}:{FTP_PORT}/"],
                                   check=True, timeout=10)
        finally:
            server.close_all()
            thread.join(timeout=5)


async def _coap(path: Path) -> None:
    import aiocoap
    from aiocoap import resource

    class Temperature(resource.ObservableResource):
        """A sensor reading, observable (RFC 7641), with a resource type for /.well-known/core."""

        rt = "temperature-c"

        def __init__(self) -> None:
            super().__init__()
            self.value = 21

        async def render_get(self, request: aiocoap.Message) -> aiocoap.Message:
            return aiocoap.Message(payload=str(self.value).encode(),
                                   content_format=0)  # text/plain; charset=utf-8, RFC 7252 §12.3

        def bump(self) -> None:
            self.value += 1
            self.updated_state()

    class Led(resource.Resource):
        """An actuator: PUT "on"/"off"."""

        rt = "light"

        def __init__(self) -> None:
            super().__init__()
            self.state = b"off"

        async def render_get(self, request: aiocoap.Message) -> aiocoap.Message:
            return aiocoap.Message(payload=self.state, content_format=0)

        async def render_put(self, request: aiocoap.Message) -> aiocoap.Message:
            self.state = request.payload
            return aiocoap.Message(code=aiocoap.CHANGED)

    temp = Temperature()
    root = resource.Site()
    root.add_resource([".well-known", "core"], resource.WKCResource(root.get_resources_as_linkheader))
    root.add_resource(["sensors", "temp"], temp)
    root.add_resource(["actuators", "led"], Led())
    server = await aiocoap.Context.create_server_context(root, bind=(HOST, COAP_PORT))
    client = shutil.which("coap-client-notls") or shutil.which("coap-client")
    if client is None:
        sys.exit("coap-client not found: apt-get install -y libcoap3-bin")
    base = f"coap://{HOST}:{COAP_PORT}"

    async def libcoap(*args: str) -> None:
        proc = await asyncio.create_subprocess_exec(client, *args, stdout=asyncio.subprocess.DEVNULL)
        await asyncio.wait_for(proc.wait(), timeout=20)

    try:
        with tcpdump(path, f"udp port {COAP_PORT}"):
            await libcoap("-m", "get", f"{base}/.well-known/core")
            await libcoap("-m", "get", f"{base}/sensors/temp")
            await libcoap("-m", "put", "-t", "0", "-e", "on", f"{base}/actuators/led")
            await libcoap("-m", "get", "-N", f"{base}/actuators/led")  # NON request (§4.3)
            observe = asyncio.create_task(libcoap("-m", "get", "-s", "3", f"{base}/sensors/temp"))
            for _ in range(2):  # two notifications while the observation lasts (RFC 7641 §4.2)
                await asyncio.sleep(1)
                temp.bump()
            await observe
    finally:
        await server.shutdown()


def make_coap(path: Path) -> None:
    """aiocoap server (GET, PUT, observe, /.well-known/core) driven by libcoap's coap-client."""
    _require_free(COAP_PORT, socket.SOCK_DGRAM)
    asyncio.run(_coap(path))


def main() -> None:
    make_ftp(HERE / "ftp_pyftpdlib.pcap")
    make_coap(HERE / "coap_aiocoap_libcoap.pcap")


if __name__ == "__main__":
    main()
