"""``toros-preprocess NIGHT_DIR``: build a night's masters and calibrate its lights."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from torosdrivers._version import add_version

from .combine import METHODS
from .night import default_catalog_path, process_night

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="toros-preprocess", description=__doc__.splitlines()[0])
    p.add_argument("night", type=Path, help="folder of the night's FITS files")
    p.add_argument("--catalog", type=Path, default=None,
                   help=f"SQLite catalog (default: $TOROS_CATALOG or {default_catalog_path()})")
    p.add_argument("--method", choices=METHODS, default="median", help="how masters combine (default: median)")
    p.add_argument("--memory-limit", type=float, default=384, metavar="MB",
                   help="memory for the blocks of a combine, MB (default: %(default)s)")
    p.add_argument("--workers", type=int, default=None, help="threads (default: one per core)")
    p.add_argument("--dask", metavar="ADDRESS", help="run on a Dask cluster (scheduler address, e.g. tcp://host:8786)")
    args = add_version(p).parse_args(argv)

    executor, client = None, None
    if args.dask:
        try:
            from distributed import Client
        except ImportError:
            print("toros-preprocess: --dask needs the optional extra: pip install 'torosdrivers[dask]'", file=sys.stderr)
            return 2
        client = Client(args.dask)
        executor = client.get_executor()
    elif args.workers:
        from concurrent.futures import ThreadPoolExecutor

        executor = ThreadPoolExecutor(max_workers=args.workers)
    t0 = time.monotonic()
    try:
        report = process_night(args.night, catalog=args.catalog, executor=executor, method=args.method,
                               memory_limit=int(args.memory_limit * 2**20), progress=lambda line: print(line, flush=True))
    except NotADirectoryError as exc:
        print(f"toros-preprocess: {exc}", file=sys.stderr)
        return 2
    finally:
        if client is not None:
            client.close()
    print(f"\n{'':2s}{'outcome':22s}{'count':>6s}")
    for label, count in report.summary():
        print(f"{'':2s}{label:22s}{count:6d}")
    for name, reason in report.skipped + report.uncalibrated:
        print(f"  ! {name}: {reason}")
    for note in report.masters_reused + report.notes:
        print(f"  * {note}")
    print(f"  products in {args.night / 'products'} ({time.monotonic() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
