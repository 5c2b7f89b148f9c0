"""Build the production virtual environment for ``make install``, also into a staging root (``DESTDIR``).

``python -m venv`` writes the path it is built at into every script's
``#!`` line, ``activate`` and ``pyvenv.cfg``, and links ``bin/python`` to
the interpreter that made it. Built under ``DESTDIR`` for a package, the
installed scripts named the staging path; built by a pyenv or a user's
Python, the venv lent its interpreter from a home directory, which the
units' ``ProtectHome=yes`` hides from the daemons. So this script

- takes a system interpreter (``/usr/bin/python3``, ``/usr/local/bin/python3``,
  or ``--python``), never one under a home directory (one line, exit 2);
- builds the venv with ``--copies``, so it owns its ``python`` (no link);
- installs the package without compiling, then rewrites the staging path
  to the final one in ``bin/`` and ``pyvenv.cfg`` and compiles the
  bytecode as if it stood at the final path;
- checks what it built: no file holds the staging path, no link leads into
  a home directory.

Standard library only: it runs before torosdrivers is installed anywhere.

Run: ``python3 packaging/stage_venv.py --destdir DESTDIR --prefix /opt/toros [--pip-args ...] SOURCE``
"""

from __future__ import annotations

import argparse
import os
import pwd
import shlex
import subprocess
import sys
from pathlib import Path

SYSTEM_PYTHONS = ("/usr/bin/python3", "/usr/local/bin/python3")


def homes() -> list[Path]:
    """Every home directory of this machine (and the builder's)."""
    found = {Path("/home"), Path("/root"), Path.home()}
    for entry in pwd.getpwall():
        if entry.pw_uid >= 1000 or entry.pw_name == "root":
            found.add(Path(entry.pw_dir))
    return sorted(p for p in found if str(p) not in ("/", ""))


def in_a_home(path: Path) -> bool:
    real = Path(os.path.realpath(path))
    return any(real == home or home in real.parents for home in homes())


def base_interpreter(requested: str | None) -> Path:
    """The real interpreter to build from: the requested one, else the first system one."""
    candidates = [requested] if requested else [p for p in SYSTEM_PYTHONS if os.access(p, os.X_OK)]
    for candidate in candidates:
        out = subprocess.run([candidate, "-c", "import os, sys; print(os.path.realpath(sys._base_executable))"],
                             capture_output=True, text=True)
        if out.returncode == 0:
            real = Path(out.stdout.strip())
            if in_a_home(real):
                raise SystemExit(f"stage_venv: {candidate} is {real}, in a home directory, which the services cannot "
                                 "see (ProtectHome=yes): give a system Python, e.g. PYTHON=/usr/bin/python3")
            return real
    raise SystemExit(f"stage_venv: no system Python 3 found ({', '.join(SYSTEM_PYTHONS)}): give one with --python")


def relocate(built: Path, final: Path) -> int:
    """Write ``final`` for ``built`` in the venv's scripts and configuration; returns the files changed."""
    old, new = str(built).encode(), str(final).encode()
    changed = 0
    for path in [*(built / "bin").iterdir(), built / "pyvenv.cfg"]:
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        if old in data and b"\0" not in data[:4096]:  # text only: a copied python binary is left as it is
            path.write_bytes(data.replace(old, new))
            changed += 1
    return changed


def problems(built: Path, staging: Path | None) -> list[str]:
    """What in the built tree still names the staging root or leads into a home directory."""
    found = []
    needle = str(staging).encode() if staging else None
    for root, dirs, files in os.walk(built):
        for name in dirs + files:
            path = Path(root, name)
            if path.is_symlink():
                written, target = os.readlink(path), Path(os.path.realpath(path))
                if in_a_home(target) or (staging and os.path.isabs(written) and staging in target.parents):
                    found.append(f"{path} links to {written}")  # (lib64 -> lib, relative, moves with the venv)
            elif name in files and needle and needle in path.read_bytes():
                found.append(f"{path} names the staging root {staging}")
    return found


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--destdir", default="", help="staging root (empty: install in place)")
    p.add_argument("--prefix", required=True, help="where the venv will live once installed, e.g. /opt/toros")
    p.add_argument("--python", help="interpreter to build from (default: the system's)")
    p.add_argument("--pip-args", default="", help="more arguments for pip install (one string)")
    p.add_argument("source", help="the project to install (a folder, a wheel)")
    args = p.parse_args(argv)
    final = Path(args.prefix)
    staging = Path(args.destdir).resolve() if args.destdir else None
    built = Path(f"{staging}{final}") if staging else final
    python = base_interpreter(args.python)
    subprocess.run([str(python), "-m", "venv", "--copies", "--clear", str(built)], check=True)
    subprocess.run([str(built / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "--no-compile", *shlex.split(args.pip_args), args.source], check=True)
    changed = relocate(built, final) if staging else 0
    lib = built / "lib"
    compile_ = [str(built / "bin" / "python"), "-m", "compileall", "-q", "-f", "-j", "0", str(lib)]
    if staging:  # the bytecode's file names as they will be, not as they are now
        compile_[4:4] = ["-s", str(staging), "-p", "/"]  # (-f: ensurepip compiled pip at the staging path)
    subprocess.run(compile_, check=True, stdout=subprocess.DEVNULL)
    found = problems(built, staging)
    if found:
        print("stage_venv: the venv is not relocatable:\n  " + "\n  ".join(found[:20]), file=sys.stderr)
        return 1
    print(f"stage_venv: {built} built from {python} for {final}" + (f" ({changed} files relocated)" if staging else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
