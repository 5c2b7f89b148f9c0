"""``toros-alpaca-sim``: a `SimulatedObservatory` served over ASCOM Alpaca.

Camera 0, filterwheel 0, telescope 0 and dome 0 on ``http://HOST:PORT``
(loopback, port 11111 by default); UDP discovery only with ``--discovery``.
"""

from __future__ import annotations

import argparse
import sys

from astropy.time import Time

from torosdrivers.alpaca.protocol import DISCOVERY_PORT
from torosdrivers._version import add_version
from torosdrivers.lifecycle import catch_stop, wait_for_stop

from ..observatory import SimulatedObservatory
from torosdrivers.alpaca import AlpacaServer

__all__ = ["main", "serve_observatory"]


def serve_observatory(obs: SimulatedObservatory, *, host: str = "127.0.0.1", port: int = 11111,
                      discovery_port: int | None = None, imagebytes: bool = True) -> AlpacaServer:
    """An (unstarted) server for the devices of a simulated observatory (its weather station and safety monitor too)."""
    return AlpacaServer(
        [obs.camera, obs.filter_wheel, obs.mount, obs.dome, obs.conditions, obs.safety, obs.focuser],
        host=host,
        port=port,
        discovery_port=discovery_port,
        imagebytes=imagebytes,
        server_name="TOROS simulated observatory",
        location=f"lat {obs.site.lat.deg:.4f}, lon {obs.site.lon.deg:.4f}",
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="toros-alpaca-sim", description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    p.add_argument("--port", type=int, default=11111, help="TCP port, 0 for any free one (default: %(default)s)")
    p.add_argument("--discovery", action="store_true", help=f"answer Alpaca discovery on UDP {DISCOVERY_PORT}")
    p.add_argument("--discovery-port", type=int, default=DISCOVERY_PORT, help="UDP port for --discovery")
    p.add_argument("--no-imagebytes", action="store_true", help="answer images in JSON only, like many servers")
    p.add_argument("--time-scale", type=float, default=1.0, help="device seconds per real second (default: %(default)s)")
    p.add_argument("--size", type=int, default=4096, help="sensor width and height (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--start", help="UTC start of the simulated clock, ISO (default: now)")
    args = add_version(p).parse_args(argv)
    catch_stop()

    obs = SimulatedObservatory(time_scale=args.time_scale, seed=args.seed, width=args.size, height=args.size,
                               start=Time(args.start) if args.start else None)
    obs.connect()  # the simulated hardware is on; clients connect and disconnect as they like
    server = serve_observatory(obs, host=args.host, port=args.port,
                               discovery_port=args.discovery_port if args.discovery else None,
                               imagebytes=not args.no_imagebytes)
    with server:
        print(f"toros-alpaca-sim: Alpaca server on http://{server.address} "
              f"(camera 0, filterwheel 0, telescope 0, dome 0)", flush=True)
        if server.discovery_address:
            print(f"toros-alpaca-sim: discovery on UDP {server.discovery_address[0]}:{server.discovery_address[1]}", flush=True)
        wait_for_stop()
    obs.disconnect()
    return 0


if __name__ == "__main__":
    sys.exit(main())
