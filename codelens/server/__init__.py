"""The background model server: a per-user process that keeps the model loaded between scans.

A git hook that scans one changed function spends most of its time importing torch and loading the
model. The server (in the spirit of ``dmypy``) does that once: scans send it the functions their
cache lacks and get the model's outputs back, and do everything else themselves.

    place     where the server's socket lives, the build identity, the uid checks
    protocol  frames of JSON over the Unix socket
    daemon    the server process (``python -m codelens.server``)
    client    finding, starting and stopping it; ``ServerScorer``, the engine's scorer that uses it

``codelens server start|stop|status`` manages it by hand; a scan in a git hook starts it on first use
(the ``server`` setting), and any scan uses one that runs.
"""
