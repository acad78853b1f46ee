"""The gevent + bottle + WebSocket server: root, protocol, handlers, clocks; no poker rules."""
