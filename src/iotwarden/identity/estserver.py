"""HTTPS transport of the EST service: an asyncio TLS server (client certificates optional, verified
against our chain and the bootstrap CAs) speaking HTTP/1.1 through h11 (RFC 9112).

Each request is answered by :meth:`EstService.handle` in a worker thread, so signing never stalls
the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from collections.abc import Sequence
from pathlib import Path

import h11
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from iotwarden.errors import IdentityError, describe
from iotwarden.identity import keystore, profiles
from iotwarden.identity.ca import DeviceCA
from iotwarden.identity.est import EstRequest, EstResponse, EstService

MAX_CONNECTIONS = 128  # concurrent connections; more are closed at once
MAX_HEADER_BYTES = 16 * 1024  # request line + headers (h11 max_incomplete_event_size)
MAX_BODY_BYTES = 64 * 1024  # bytes read of one request body before answering 413
READ_TIMEOUT_S = 30.0  # idle time allowed between reads of one request
MAX_REQUESTS_PER_CONNECTION = 1000  # keep-alive requests on one connection
SERVER_CERT, SERVER_KEY = "est-server.crt.pem", "est-server.key.pem"


def ensure_server_cert(ca: DeviceCA, folder: Path, passphrase: str, *, dns: Sequence[str] = ("localhost",),
                       ips: Sequence[str] = ("127.0.0.1",)) -> tuple[Path, Path]:
    """A ``server`` certificate for the EST endpoint in ``folder`` (issued once, key encrypted)."""
    cert_path, key_path = folder / SERVER_CERT, folder / SERVER_KEY
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    key = keystore.generate(ca.settings.algorithm)
    subject = profiles.device_subject("est-server", organization=ca.settings.organization)
    cert, _ = ca.issue_for_key(subject, key.public_key(), profile="server",
                               sans=profiles.device_sans(dns=list(dns), ips=list(ips)))
    folder.mkdir(parents=True, exist_ok=True)
    keystore.save(key, key_path, passphrase)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + ca.chain_pem())
    return cert_path, key_path


def tls_context(cert_file: Path, key_file: Path, passphrase: str, trust: Sequence[x509.Certificate]) -> ssl.SSLContext:
    """Server context: TLS >= 1.2, client certificate requested but optional (token enrolment has
    none), and verified against ``trust`` when sent (RFC 7030 §3.3.2)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(cert_file, key_file, password=passphrase)
    except (ssl.SSLError, OSError) as exc:
        raise IdentityError(f"cannot load the EST server certificate: {exc}") from None
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.load_verify_locations(cadata="".join(
        c.public_bytes(serialization.Encoding.PEM).decode() for c in trust))
    return ctx


class EstServer:
    """Serves one :class:`EstService` on ``host:port`` (port 0 picks a free one)."""

    def __init__(self, service: EstService, context: ssl.SSLContext, host: str = "127.0.0.1", port: int = 8443) -> None:
        self.service = service
        self.context = context
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._open = 0

    async def start(self) -> int:
        """Listen; returns the bound port. IdentityError when the address cannot be listened on."""
        try:
            self._server = await asyncio.start_server(self._connection, self.host, self.port, ssl=self.context,
                                                      ssl_handshake_timeout=READ_TIMEOUT_S)
        except OSError as exc:  # in use, not an address of this host, a name that does not resolve (gaierror)
            raise IdentityError(f"cannot listen on {self.host}:{self.port}: {describe(exc)}") from None
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def serve_forever(self) -> None:
        if self._server is None:
            await self.start()
        assert self._server is not None
        async with self._server:
            await self._server.serve_forever()

    def start_in_thread(self) -> int:
        """Run the server on its own event loop thread (tests, benchmarks); returns the bound port."""
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:  # noqa: BLE001 - handed to the caller below
                errors.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._close())
            loop.close()

        self._thread = threading.Thread(target=run, name="est-server", daemon=True)
        self._thread.start()
        ready.wait()
        if errors:
            raise IdentityError(f"EST server cannot listen on {self.host}:{self.port}: {errors[0]}")
        return self.port

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        # connections still open (keep-alive clients) are cancelled and awaited, never dropped mid-await
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._handle_connection(reader, writer)
        except asyncio.CancelledError:
            # the server is stopping: end as a finished task (Python 3.11's stream callback logs an
            # error for every task that ends cancelled)
            return

    async def _handle_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._open >= MAX_CONNECTIONS:
            writer.close()
            return
        self._open += 1
        try:
            await self._serve(reader, writer)
        except (OSError, TimeoutError, ssl.SSLError, h11.ProtocolError):
            pass  # a client that vanished or spoke nonsense: nothing to answer
        finally:
            self._open -= 1
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        peer = [x509.load_der_x509_certificate(der)] if der else []
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEADER_BYTES)
        for _ in range(MAX_REQUESTS_PER_CONNECTION):
            request = await self._read_request(conn, reader, peer)
            if request is None:
                return
            if isinstance(request, EstResponse):
                await self._send(conn, writer, request)
                return
            loop = asyncio.get_running_loop()
            response = await loop.run_in_executor(None, self.service.handle, request)
            await self._send(conn, writer, response)
            if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                return
            conn.start_next_cycle()

    async def _read_request(self, conn: h11.Connection, reader: asyncio.StreamReader,
                            peer: list[x509.Certificate]) -> EstRequest | EstResponse | None:
        request: EstRequest | None = None
        body = bytearray()
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError:
                return EstResponse(400, b"malformed HTTP request\n")
            if event is h11.NEED_DATA:
                data = await asyncio.wait_for(reader.read(65536), READ_TIMEOUT_S)
                conn.receive_data(data)
                continue
            if isinstance(event, h11.Request):
                headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in event.headers}
                request = EstRequest(event.method.decode("ascii", "replace"),
                                     event.target.decode("ascii", "replace"), headers, b"", peer)
            elif isinstance(event, h11.Data):
                body += event.data
                if len(body) > MAX_BODY_BYTES:
                    return EstResponse(413, b"request body too large\n")
            elif isinstance(event, h11.EndOfMessage) and request is not None:
                request.body = bytes(body)
                return request
            elif isinstance(event, h11.ConnectionClosed | h11.EndOfMessage):
                return None

    async def _send(self, conn: h11.Connection, writer: asyncio.StreamWriter, response: EstResponse) -> None:
        headers = [("Content-Type", response.content_type), ("Content-Length", str(len(response.body))),
                   *response.headers]
        if response.status >= 400 and response.status != 401:
            headers.append(("Connection", "close"))
        try:
            writer.write(conn.send(h11.Response(status_code=response.status, headers=headers)) or b"")
            writer.write(conn.send(h11.Data(data=response.body)) or b"")
            writer.write(conn.send(h11.EndOfMessage()) or b"")
        except h11.LocalProtocolError:
            return
        await writer.drain()
