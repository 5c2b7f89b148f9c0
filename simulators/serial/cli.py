"""``toros-serial-sim``: one simulated serial device on a loopback TCP port, a pty or an RFC 2217 port server.

``toros-serial-sim lx200 --tcp 127.0.0.1:4030``, ``toros-serial-sim ddw
--pty``, ``toros-serial-sim moonlite --pty`` (a focuser) or ``toros-serial-sim qhycfw --rfc2217
127.0.0.1:4031`` (the device on a pty behind a port server); it prints the URL to open (``socket://...``,
a ``/dev/pts/N`` path or ``rfc2217://...``) and serves until interrupted.
``--dialect meade`` makes the LX200 a Meade rather than an OnStep.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack

from astropy.time import Time

from torosdrivers._version import add_version
from torosdrivers.lifecycle import catch_stop, wait_for_stop

from ..observatory import SimulatedObservatory
from .ddw import DDWResponder
from .lx200 import DIALECTS, LX200Responder
from .moonlite import MoonliteResponder
from .qhycfw import QHYCFWResponder
from .rfc2217 import RFC2217PortServer
from .transport import SerialSimServer

__all__ = ["main"]

DEVICES = {
    "lx200": lambda obs, args: LX200Responder(obs.mount, dialect=args.dialect),
    "ddw": lambda obs, args: DDWResponder(obs.dome),
    "qhycfw": lambda obs, args: QHYCFWResponder(obs.filter_wheel),
    "moonlite": lambda obs, args: MoonliteResponder(obs.focuser),
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
    where.add_argument("--rfc2217", type=_host_port, metavar="HOST:PORT",
                       help="serve on a pty behind an RFC 2217 port server listening here")
    p.add_argument("--dialect", choices=DIALECTS, default="onstep", help="LX200 dialect (default: %(default)s)")
    p.add_argument("--time-scale", type=float, default=1.0, help="device seconds per real second (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--start", help="UTC start of the simulated clock, ISO (default: now)")
    args = add_version(p).parse_args(argv)
    catch_stop()

    obs = SimulatedObservatory(time_scale=args.time_scale, seed=args.seed, width=64, height=64,
                               start=Time(args.start) if args.start else None)
    host, port = args.tcp or ("127.0.0.1", 0)
    responder = DEVICES[args.device](obs, args)
    server = SerialSimServer(responder, tcp=not (args.pty or args.rfc2217), host=host, port=port)
    with ExitStack() as stack:
        url = stack.enter_context(server).url
        if args.rfc2217:
            url = stack.enter_context(RFC2217PortServer(url, host=args.rfc2217[0], port=args.rfc2217[1])).url
        print(f"toros-serial-sim: {responder.protocol} on {url}", flush=True)
        wait_for_stop()
    obs.disconnect()
    return 0


if __name__ == "__main__":
    sys.exit(main())
