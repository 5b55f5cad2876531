"""Identity resolution: observations and flows become devices with stable keys (STYLE 9).

InventoryBuilder is the default first analyzer; the device classifier builds on what it resolves.
"""
