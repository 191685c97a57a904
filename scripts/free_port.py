#!/usr/bin/python3
"""Prints a TCP port on 127.0.0.1 that is free now, for a node or browser started a moment later.

The port is picked below Linux's ephemeral range (32768-60999): a port that bind(0) handed out
may become the source port of any outgoing connection on the machine before the child binds
it, which then fails with EADDRINUSE. Below that range the kernel never hands a port out by
itself. Used by scripts/demo.sh, scripts/console_browser.py and Tests/Guide/install_guide.sh;
Swift tests have the same rule in ProcessTestKit.freePort.
"""

import random
import socket
import sys


def free_port():
    for _ in range(200):
        port = random.randrange(20000, 32000)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 20000-31999")


if __name__ == "__main__":
    print(free_port())
    sys.exit(0)
