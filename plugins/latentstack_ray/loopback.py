"""Keep a Ray instance started on this machine off the network.

Ray's servers (GCS, raylets, workers) listen on the address Ray takes for the node; on Linux that is
the machine's outward address, reachable by anyone on its network. Ray's own switch for a one-machine
instance, ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` (the default on Windows and macOS), makes it the
loopback address instead. Ray reads the switch when it is imported, and its node-address lookup reads
the constant derived from it at call time, so both are set: the environment for the processes Ray
starts, and the constant for a Ray already imported.
"""

from __future__ import annotations

import os

SWITCH = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


def loopback_only() -> None:
    """Start Ray's servers on 127.0.0.1 from now on in this process (unless the user set the switch)."""
    os.environ.setdefault(SWITCH, "0")
    from ray._private import ray_constants

    ray_constants.ENABLE_RAY_CLUSTER = os.environ[SWITCH].lower() in ("1", "true")


def is_local(address: str) -> bool:
    """True for no address (start an instance) or an address on this machine's loopback."""
    return not address or address.rsplit(":", 1)[0] in LOOPBACK_HOSTS
