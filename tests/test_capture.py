"""When a picture was taken: EXIF dates with and without time zones, broken and missing EXIF,
the index's filters and time sort, and an index from before capture times gaining them."""
from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from badfiles import FakeEmbedder, age
from imgsearch_helpers.index import ImageIndex, read_capture
from imgsearch_helpers.index._store import MANIFEST_FORMAT, read_manifest

UTC = dt.timezone.utc


def jpeg(path: Path, colour=(200, 40, 40), date=None, offset=None, make=None, model=None,
         mtime: dt.datetime | None = None) -> Path:
    exif = Image.Exif()
    if make:
        exif[0x010F] = make
    if model:
        exif[0x0110] = model
    inner = exif.get_ifd(0x8769)
    if date:
        inner[0x9003] = date
    if offset:
        inner[0x9011] = offset
    Image.new("RGB", (32, 24), colour).save(path, exif=exif)
    if mtime is not None:
        ns = int(mtime.timestamp()) * 10**9
        os.utime(path, ns=(ns, ns))
    return path


def test_exif_date_with_its_time_zone(tmp_path):
    c = read_capture(jpeg(tmp_path / "a.jpg", date="2024:05:01 14:30:00", offset="+02:00",
                          make="Canon", model="Canon EOS R6"))
    assert c.source == "exif" and c.camera == "Canon EOS R6"
    assert c.taken == dt.datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    assert c.taken.utcoffset() == dt.timedelta(hours=2)


def test_exif_date_west_of_greenwich_and_make_added_to_a_bare_model(tmp_path):
    c = read_capture(jpeg(tmp_path / "a.jpg", date="2023:12:31 23:15:00", offset="-05:00",
                          make="NIKON CORPORATION", model="Z 6"))
    assert c.taken == dt.datetime(2024, 1, 1, 4, 15, tzinfo=UTC)
    assert c.camera == "NIKON CORPORATION Z 6"


def test_exif_date_without_an_offset_is_the_cameras_local_time(tmp_path):
    c = read_capture(jpeg(tmp_path / "a.jpg", date="2024:05:01 14:30:00"))
    assert c.source == "exif-local" and c.taken == dt.datetime(2024, 5, 1, 14, 30)
    assert c.taken.tzinfo is None and c.camera is None


def test_no_exif_uses_the_files_time_and_says_so(tmp_path):
    when = dt.datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC)
    c = read_capture(jpeg(tmp_path / "a.jpg", mtime=when))
    assert (c.taken, c.source) == (when, "mtime")
    png = tmp_path / "b.png"
    Image.new("RGB", (8, 8)).save(png)
    assert read_capture(png).source == "mtime"


@pytest.mark.parametrize("date,offset", [("0000:00:00 00:00:00", None), ("2023:02:30 10:00:00", None),
                                         ("garbage", "+02:00"), ("    ", None),
                                         ("2024:05:01 14:30:00", "+99:00")])
def test_broken_exif_dates_fall_back_or_drop_the_bad_offset(tmp_path, date, offset):
    when = dt.datetime(2020, 1, 2, tzinfo=UTC)
    c = read_capture(jpeg(tmp_path / "a.jpg", date=date, offset=offset, model="X100",
                          mtime=when))
    if date.startswith("2024"):
        assert c.source == "exif-local" and c.taken == dt.datetime(2024, 5, 1, 14, 30)
    else:
        assert (c.taken, c.source, c.camera) == (when, "mtime", "X100")


def test_a_truncated_exif_block_is_no_error(tmp_path):
    path = jpeg(tmp_path / "a.jpg", date="2024:05:01 14:30:00", offset="+02:00")
    data = bytearray(path.read_bytes())
    at = data.find(b"Exif\x00\x00")
    data[at + 6:at + 40] = b"\xff" * 34          # a broken TIFF header and first IFD
    path.write_bytes(bytes(data))
    age(path)
    c = read_capture(path)
    assert c.source == "mtime"
    not_a_picture = tmp_path / "b.jpg"
    not_a_picture.write_bytes(b"not a picture")
    assert read_capture(not_a_picture).source == "mtime"


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    jpeg(folder / "may.jpg", (200, 0, 0), "2024:05:01 10:00:00", "+02:00", "Canon", "Canon EOS R6")
    jpeg(folder / "june.jpg", (0, 200, 0), "2024:06:15 18:00:00", "+00:00")
    jpeg(folder / "april.jpg", (0, 0, 200), "2024:04:20 09:00:00")
    jpeg(folder / "nodate.jpg", (90, 90, 90), mtime=dt.datetime(2022, 1, 1, tzinfo=UTC))
    age(*folder.iterdir())
    return folder


def test_search_filters_by_capture_time_and_sorts_by_it(photos):
    index = ImageIndex.build(photos, FakeEmbedder())
    query = index.embeddings[0]
    names = lambda results: [Path(r.item).name for r in results]   # noqa: E731
    everything = index.search_embedding(query, k=None)
    assert len(everything) == 4
    assert names(index.search_embedding(query, k=None, sort="time")) == [
        "nodate.jpg", "april.jpg", "may.jpg", "june.jpg"]
    may = index.search_embedding(query, k=None, taken_after="2024-05-01",
                                 taken_before="2024-05-31")
    assert names(may) == ["may.jpg"]
    spring = index.search_embedding(query, k=None, taken_after="2024-04-01",
                                    taken_before="2024-05-01", sort="time")
    assert names(spring) == ["april.jpg", "may.jpg"]       # a bare "before" date is its whole day
    assert index.search_embedding(query, k=None, taken_after="2030-01-01") == []
    # Filtering keeps the scores and rows of the unfiltered search.
    by_row = {r.index: r.score for r in everything}
    assert all(by_row[r.index] == pytest.approx(r.score) for r in spring)
    with pytest.raises(ValueError, match="sort must be"):
        index.search_embedding(query, sort="date")
    with pytest.raises(ValueError, match="not a date"):
        index.search_embedding(query, taken_after="last May")
    cameras = {Path(p).name: c.camera for p, c in zip(index.paths, index.captures)}
    assert cameras["may.jpg"] == "Canon EOS R6" and cameras["june.jpg"] is None


def test_matches_in_a_date_range_are_judged_against_the_whole_collection(photos):
    """A date range keeps the matches taken in it: whether a picture matches does not depend on
    which others are taken then (the z-score rule standardises over the whole collection)."""
    from imgsearch_helpers import Calibration

    index = ImageIndex.build(photos, FakeEmbedder())
    names = {Path(p).name: row for row, p in enumerate(index.paths)}
    assert sorted(index.rows_taken("2024-04-01", "2024-05-01")) == sorted([names["april.jpg"],
                                                                         names["may.jpg"]])
    assert list(index.rows_taken()) == list(range(4))
    assert len(index.rows_taken(taken_before="2000-01-01")) == 0
    rule = Calibration("zscore", 10.0, -5.0)               # a match from z >= 0.5
    for row in range(4):
        query = index.embeddings[row]
        everything = index.search_embedding(query, None, matches="auto", calibration=rule)
        for after, before in (("2024-04-01", "2024-05-01"), ("2024-05-01", None), (None, "2024-01-01")):
            kept = set(index.rows_taken(after, before))
            dated = index.search_embedding(query, None, matches="auto", calibration=rule,
                                           taken_after=after, taken_before=before)
            assert [(r.index, r.p_match) for r in dated] == [
                (r.index, r.p_match) for r in everything if r.index in kept], (row, after, before)


def test_captures_are_saved_and_kept_for_unchanged_files(photos):
    index = ImageIndex.build(photos, FakeEmbedder())
    index.captures
    saved = read_manifest(index.index_dir).captures
    assert set(saved) == {"may.jpg", "june.jpg", "april.jpg", "nodate.jpg"}
    assert saved["may.jpg"][:2] == ["2024-05-01T10:00:00+02:00", "exif"]
    # A changed file is read again on the next update; the others are kept.
    jpeg(photos / "june.jpg", (0, 210, 0), "2025:01:01 00:00:00", "+00:00")
    age(photos / "june.jpg", when_ns=1_700_000_000 * 10**9)
    index = ImageIndex.build(photos, FakeEmbedder())
    assert "june.jpg" not in read_manifest(index.index_dir).captures
    assert index.captures[index.relpaths.index("june.jpg")].taken.year == 2025


def _as_version_2(index_dir: Path) -> None:
    """Rewrite a manifest in format version 2, the layout before capture times, byte for byte
    what that version wrote: the same fields, without "captures"."""
    path = index_dir / "manifest.json"
    data = json.loads(path.read_text())
    del data["captures"]
    data["format_version"] = 2
    path.write_text(json.dumps(data, separators=(",", ":")))


def test_an_index_from_before_capture_times_gains_them_without_embedding_again(photos):
    assert MANIFEST_FORMAT.version == 3
    first = ImageIndex.build(photos, FakeEmbedder())
    _as_version_2(first.index_dir)
    emb_file = first.index_dir / read_manifest(first.index_dir).embeddings_file
    emb_before = emb_file.read_bytes()
    # Opening it upgrades the manifest in memory; the first use of the times reads them.
    opened = ImageIndex.open(first.index_dir)
    assert opened._manifest.captures == {}
    times = {Path(p).name: c for p, c in zip(opened.paths, opened.captures)}
    assert times["may.jpg"].source == "exif" and times["nodate.jpg"].source == "mtime"
    on_disk = json.loads((first.index_dir / "manifest.json").read_text())
    assert on_disk["format_version"] == 3 and len(on_disk["captures"]) == 4
    # An update after the upgrade embeds nothing: every embedding was kept.
    embedder = FakeEmbedder()
    again = ImageIndex.build(photos, embedder)
    assert embedder.embedded == [] and again.summary["embedded"] == 0
    assert emb_file.exists() and emb_file.read_bytes() == emb_before
    assert np.array_equal(again.embeddings, first.embeddings)
    assert len(again.captures) == 4


def test_a_version_2_index_updated_by_build_keeps_its_embeddings(photos):
    first = ImageIndex.build(photos, FakeEmbedder())
    _as_version_2(first.index_dir)
    embedder = FakeEmbedder()
    again = ImageIndex.build(photos, embedder)
    assert embedder.embedded == [] and again.summary["embedded"] == 0
    assert [c.source for c in again.captures].count("exif") == 2
