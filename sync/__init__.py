"""The sync protocol: server side (protocol.py, api.py) and the client it pairs with (static/)."""
