"""The two-tier packet engine: batch header decode, flow table, dissection dispatch.

Tier 1 decodes link/IP/transport headers of a whole :class:`PacketBatch` at once with numpy and
updates the flow table; tier 2 builds a :class:`~iotwarden.dissect.base.Packet` only for the packets
that carry identity or risk signals and hands them to the dissectors that declared them.
The engine does no I/O: batches in, Observations and closed Flows out.
"""
