"""The browser client (``client/static``, served at ``/``) and the bots (``client.bots``)."""
