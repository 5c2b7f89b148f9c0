"""The main job (`make demo`) runs end to end and writes what it says."""

from __future__ import annotations

from astropy.io import fits

from torosdrivers.simulators.demo import main


def test_demo_observes_and_writes_fits(tmp_path, capsys):
    code = main(["--output", str(tmp_path), "--size", "256", "--time-scale", "inf",
                 "--start", "2026-06-21T04:00:00", "--filter", "R", "--exposure", "30"])
    assert code == 0
    out = capsys.readouterr().out
    fits_files = sorted(tmp_path.glob("*.fits"))
    assert [p.name.split("_")[1] for p in fits_files] == ["bias.fits", "dark.fits", "light.fits"]
    assert len(list(tmp_path.glob("*.png"))) == 1
    types = [fits.getheader(p)["IMAGETYP"] for p in fits_files]
    assert types == ["BIAS", "DARK", "LIGHT"]
    light = fits.getheader(fits_files[2])
    assert light["FILTER"] == "R" and light["EXPTIME"] == 30.0 and light["OBJECT"]
    assert "Wrote 3 FITS files" in out
