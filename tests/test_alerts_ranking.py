"""The sky map reader and the galaxy ranking (issue 26's library step), on maps and catalogues the tests make."""

from __future__ import annotations

import base64

import astropy.units as u
import astropy_healpix as ah
import numpy as np
import pytest

from torosdrivers.alerts.drill import blob_map, fits_bytes, synthetic_catalogue
from torosdrivers.alerts import Catalogue, SkyMap, SkyMapError, pointings, rank


@pytest.fixture(scope="module")
def sky():
    return SkyMap.from_base64(base64.b64encode(fits_bytes(blob_map())))


@pytest.fixture(scope="module")
def catalogue():
    return synthetic_catalogue()


def test_a_multi_order_map_reads_with_its_layers_and_its_credible_area(sky):
    assert sky.prob.sum() == pytest.approx(1.0, rel=1e-9)
    assert set(np.unique(ah.uniq_to_level_ipix(sky.uniq)[0])) == {6, 9}
    assert np.all(sky.distmu == 100.0)
    # a 2-D Gaussian of 3 degrees holds 90% within 2.146 sigma: pi r^2 = 130 deg^2 (pixels add their edges)
    assert sky.credible_area(0.9).to_value(u.deg ** 2) == pytest.approx(np.pi * (2.146 * 3.0) ** 2, rel=0.1)


def test_every_position_finds_the_one_pixel_that_covers_it(sky):
    rng = np.random.default_rng(1)
    ra, dec = rng.uniform(0, 360, 20000), np.degrees(np.arcsin(rng.uniform(-1, 1, 20000)))
    pixel = sky.pixel_of(Catalogue(ra, dec, np.ones(20000), np.ones(20000), np.zeros(20000)).nested)
    assert np.all(pixel >= 0)
    level, nested = ah.uniq_to_level_ipix(sky.uniq[pixel])
    # each position's index at its pixel's level is that pixel's
    expected = np.array([ah.lonlat_to_healpix(r * u.deg, d * u.deg, ah.level_to_nside(lv), order="nested")
                         for r, d, lv in zip(ra[:300], dec[:300], level[:300])])
    assert np.array_equal(expected, nested[:300])


@pytest.mark.parametrize("mangle, problem", [
    (lambda t: t.meta.update(ORDERING="NESTED"), "ORDERING='NESTED': expected 'NUNIQ'"),
    (lambda t: t.remove_column("PROBDENSITY"), "no PROBDENSITY column"),
    (lambda t: t["PROBDENSITY"].__setitem__(0, -1.0), "not negative"),
    (lambda t: t["UNIQ"].__setitem__(1, t["UNIQ"][0]), "overlap"),
    (lambda t: t["PROBDENSITY"].__setitem__(slice(None), t["PROBDENSITY"] * 10), "sums to"),
])
def test_a_map_of_the_wrong_kind_is_refused_by_name(mangle, problem):
    table = blob_map(coarse=3, fine=5)
    mangle(table)
    with pytest.raises(SkyMapError, match=problem):
        SkyMap.from_fits(fits_bytes(table))


@pytest.mark.parametrize("text, problem", [("not base64!", "not base64"),
                                           (base64.b64encode(b"SIMPLE  = nonsense"), "not a FITS file")])
def test_corrupt_base64_or_fits_is_refused(text, problem):
    with pytest.raises(SkyMapError, match=problem):
        SkyMap.from_base64(text)


def test_the_ranking_matches_the_formula_galaxy_by_galaxy(sky, catalogue):
    ranking = rank(catalogue, sky)
    # ~130 deg^2 of the sky (0.3%) and 55-145 Mpc of a volume out to 500 Mpc (2.3%): ~70 of a million
    assert 30 < len(ranking.index) < 200 and ranking.probability.sum() == pytest.approx(1.0)
    assert np.all(np.diff(ranking.probability) <= 0)
    # The straightforward way, one galaxy at a time, for a sample of them
    sample = ranking.index[:: max(1, len(ranking.index) // 200)]
    weights = []
    for i in sample:
        level, nested = ah.uniq_to_level_ipix(sky.uniq)
        here = [ah.lonlat_to_healpix(catalogue.ra[i] * u.deg, catalogue.dec[i] * u.deg, ah.level_to_nside(lv),
                                     order="nested") for lv in (6, 9)]
        k = next(j for j, lv in zip((np.flatnonzero((level == 6) & (nested == here[0])),
                                     np.flatnonzero((level == 9) & (nested == here[1]))), (6, 9)) if len(j))[0]
        d = catalogue.distance[i]
        gauss = np.exp(-0.5 * ((d - sky.distmu[k]) / sky.distsigma[k]) ** 2) / (np.sqrt(2 * np.pi) * sky.distsigma[k])
        lum = 10 ** (-0.4 * (catalogue.magnitude[i] - 5 * np.log10(d) - 25))
        weights.append(sky.probdensity[k] * sky.distnorm[k] * gauss * lum)
    weights = np.array(weights)
    got = ranking.probability[[int(np.flatnonzero(ranking.index == i)[0]) for i in sample]]
    assert np.allclose(got / got[0], weights / weights[0], rtol=1e-9)


def test_galaxies_outside_the_region_or_the_distance_range_are_left_out(sky, catalogue):
    ranking = rank(catalogue, sky)
    chosen = np.zeros(len(catalogue), dtype=bool)
    chosen[ranking.index] = True
    pixel = sky.pixel_of(catalogue.nested)
    assert not np.any(chosen & ~sky.credible(0.9)[pixel])
    assert not np.any(chosen & (np.abs(catalogue.distance - 100.0) > 3 * 15.0))
    # a bright galaxy at the centre at the right distance is the best of all
    extra = Catalogue(np.r_[catalogue.ra[:1000], 150.0], np.r_[catalogue.dec[:1000], -30.0],
                      np.r_[catalogue.distance[:1000], 100.0], np.r_[catalogue.magnitude[:1000], 10.0],
                      np.concatenate([catalogue.name[:1000], ["host"]]))
    assert extra.name[rank(extra, sky).index[0]] == "host"


def test_pointings_hold_each_galaxy_once_inside_their_field(sky, catalogue):
    ranking = rank(catalogue, sky)
    fields = pointings(ranking, field_of_view=1.5, count=30)
    assert len(fields) == 30  # ~70 galaxies over ~130 deg^2: most fields hold one
    assert all(a.probability >= b.probability for a, b in zip(fields, fields[1:]))
    everyone = np.concatenate([f.galaxies for f in fields])
    assert len(everyone) == len(np.unique(everyone))
    assert 0 < sum(f.probability for f in fields) <= 1.0 + 1e-9
    for f in fields:
        d_ra = (catalogue.ra[f.galaxies] - f.ra + 180) % 360 - 180
        assert np.all(np.abs(catalogue.dec[f.galaxies] - f.dec) <= 0.75)
        assert np.all(np.abs(d_ra) * np.cos(np.radians(catalogue.dec[f.galaxies])) <= 0.75)
    # the first pointing holds the best galaxy
    assert ranking.index[0] in fields[0].galaxies or fields[0].probability >= ranking.probability[0]


def test_a_catalogue_reads_from_glade_columns(tmp_path):
    path = tmp_path / "glade.csv"
    path.write_text("GWGC,RA,Dec,d_L,B\nNGC 4993,197.448,-23.384,40.0,12.9\nnodist,10,10,,12\nM31,10.68,41.27,0.78,4.4\n")
    cat = Catalogue.read(path)
    assert list(cat.name) == ["NGC 4993", "M31"] and cat.distance[0] == 40.0
    with pytest.raises(ValueError, match="no K column"):
        Catalogue.read(path, magnitude="K")


@pytest.mark.parametrize("suffix", [".fits", ".parquet", ".csv"])
def test_the_same_catalogue_reads_alike_from_fits_parquet_and_csv(tmp_path, suffix):
    """The three formats GLADE+ is kept in give the same galaxies (Parquet through pyarrow, in the test extras)."""
    from astropy.table import Table

    source = synthetic_catalogue(2000, seed=5)
    path = tmp_path / f"glade{suffix}"
    columns = {"GWGC": source.name, "RA": source.ra, "Dec": source.dec, "d_L": source.distance, "B": source.magnitude,
               "K": source.magnitude - 3.0}
    if suffix == ".parquet":
        import pyarrow
        import pyarrow.parquet

        pyarrow.parquet.write_table(pyarrow.table({k: list(v) if k == "GWGC" else v for k, v in columns.items()}),
                                    str(path))
    else:
        Table(columns).write(str(path), format={".csv": "ascii.csv"}.get(suffix))
    read = Catalogue.read(path, magnitude="K")
    assert len(read) == 2000 and list(read.name[:3]) == list(source.name[:3])
    assert np.allclose(read.ra, source.ra) and np.allclose(read.magnitude, source.magnitude - 3.0)
    assert np.array_equal(read.nested, source.nested)
