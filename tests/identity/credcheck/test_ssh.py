"""SSH password login attempts against an asyncssh server on loopback."""

from __future__ import annotations

from iotwarden.identity.credcheck import ssh
from tests.identity.credcheck.servers import ssh_server


def test_password_login() -> None:
    with ssh_server("ubnt", "ubnt") as port:
        assert ssh.try_login("127.0.0.1", port, "ubnt", "ubnt", timeout=5)
        assert not ssh.try_login("127.0.0.1", port, "ubnt", "admin", timeout=5)
