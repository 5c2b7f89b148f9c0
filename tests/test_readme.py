"""The README's tour runs as written."""

from __future__ import annotations

import re
from pathlib import Path

from astropy.io import fits

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_tour_runs(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README lost its python example"
    monkeypatch.chdir(tmp_path)
    exec(compile(blocks[0], "README.md", "exec"), {})
    header = fits.getheader(tmp_path / "m83.fits")
    assert header["OBJECT"] == "M 83" and header["WO_ID"] == "17" and header["FILTER"] == "V"
