"""Tiny loopback test servers for the credential checks: a Telnet-like login, HTTP Basic, SSH (asyncssh)
and Mosquitto with a password file. Each accepts exactly one username/password pair."""

from __future__ import annotations

import asyncio
import base64
import re
import shutil
import socket
import socketserver
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import asyncssh

from tests.identity.conftest import free_port

IAC, DO, WILL = 255, 253, 251


@contextmanager
def telnet_server(user: str, password: str) -> Iterator[int]:
    class Handler(socketserver.StreamRequestHandler):
        def _line(self) -> bytes:
            # drop the client's option replies (IAC WONT/DONT x, RFC 854) as a telnetd would
            return re.sub(rb"\xff[\xfb-\xfe].", b"", self.rfile.readline(256)).strip()

        def handle(self) -> None:
            self.wfile.write(bytes([IAC, DO, 24, IAC, WILL, 1]) + b"BusyBox on camera\r\nlogin: ")
            got_user = self._line()
            self.wfile.write(b"Password: ")
            got_password = self._line()
            if got_user == user.encode() and got_password == password.encode():
                self.wfile.write(b"\r\n\r\nBusyBox v1.19.4 built-in shell (ash)\r\n# ")
            else:
                self.wfile.write(b"\r\nLogin incorrect\r\nlogin: ")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def http_basic_server(user: str, password: str) -> Iterator[int]:
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.headers.get("Authorization") == expected:
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"<html>camera settings</html>")
            else:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="IPCam"')
                self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def ssh_server(user: str, password: str) -> Iterator[int]:
    class Server(asyncssh.SSHServer):
        def begin_auth(self, username: str) -> bool:
            return True

        def password_auth_supported(self) -> bool:
            return True

        def validate_password(self, username: str, pw: str) -> bool:
            return username == user and pw == password

    loop = asyncio.new_event_loop()
    key = asyncssh.generate_private_key("ssh-ed25519")
    port = free_port()
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(asyncssh.create_server(Server, "127.0.0.1", port, server_host_keys=[key]))
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield port
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


@contextmanager
def mosquitto_server(folder: Path, user: str | None, password: str | None) -> Iterator[int]:
    """Mosquitto on loopback: with a password file for ``user``, or anonymous when ``user`` is None."""
    port = free_port()
    lines = [f"listener {port} 127.0.0.1", "persistence false", "log_dest stderr"]
    if user is not None:
        pwfile = folder / "passwd"
        subprocess.run(["mosquitto_passwd", "-c", "-b", str(pwfile), user, password or ""], check=True,
                       capture_output=True)
        lines += ["allow_anonymous false", f"password_file {pwfile}"]
    else:
        lines += ["allow_anonymous true"]
    import getpass
    import os

    if os.geteuid() == 0:
        lines.append(f"user {getpass.getuser()}")
    (folder / "m.conf").write_text("\n".join(lines) + "\n")
    proc = subprocess.Popen([shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(folder / "m.conf")],
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(10)
