"""Segmentation: zones and policy as code, proposal from observed flows, what-if testing, diff,
nftables rendering, quarantine and boundary monitoring (MUD profiles live in ``policy.mud``)."""
