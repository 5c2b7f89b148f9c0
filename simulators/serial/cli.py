"""``toros-serial-sim``: one simulated serial device on a loopback TCP port or a pty.

``toros-serial-sim lx200 --tcp 127.0.0.1:4030`` or ``toros-serial-sim ddw
--pty``; it prints the URL to open (``socket://...`` or a ``/dev/pts/N`` path)
and serves until interrupted.
"""

from __future__ import annotations

import argparse
import sys

from astropy.time import Time

from torosdrivers.lifecycle import wait_for_stop

from ..observatory import SimulatedObservatory
from .ddw import DDWResponder
from .lx200 import LX200Responder
from .qhycfw import QHYCFWResponder
from .transport import SerialSimServer

__all__ = ["main"]

DEVICES = {
    "lx200": lambda obs: LX200Responder(obs.mount),
    "ddw": lambda obs: DDWResponder(obs.dome),
    "qhycfw": lambda obs: QHYCFWResponder(obs.filter_wheel),
}


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    try:
        return host or "127.0.0.1", int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected HOST:PORT, e.g. 127.0.0.1:4030") from None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="toros-serial-sim", description=__doc__.splitlines()[0])
    p.add_argument("device", choices=sorted(DEVICES))
    where = p.add_mutually_exclusive_group()
    where.add_argument("--tcp", type=_host_port, metavar="HOST:PORT", help="listen on TCP (default 127.0.0.1:0)")
    where.add_argument("--pty", action="store_true", help="serve on a pseudo-terminal")
    p.add_argument("--time-scale", type=float, default=1.0, help="device seconds per real second (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--start", help="UTC start of the simulated clock, ISO (default: now)")
    args = p.parse_args(argv)

    obs = SimulatedObservatory(time_scale=args.time_scale, seed=args.seed, width=64, height=64,
                               start=Time(args.start) if args.start else None)
    host, port = args.tcp or ("127.0.0.1", 0)
    server = SerialSimServer(DEVICES[args.device](obs), tcp=not args.pty, host=host, port=port)
    with server:
        print(f"toros-serial-sim: {server.responder.protocol} on {server.url}", flush=True)
        wait_for_stop()
    obs.disconnect()
    return 0


if __name__ == "__main__":
    sys.exit(main())
