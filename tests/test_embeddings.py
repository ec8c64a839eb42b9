"""embed_texts / embed_images: unit-norm float32, right padding per family, clear errors,
large pictures in bounded memory, batches by shape, queries that are not valid Unicode."""
import tracemalloc

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import make_picture
from imgsearch_helpers import (ImageLoadError, embed_image_files, embed_images, embed_texts,
                               load_model)
from imgsearch_helpers.embeddings import SIGLIP_TEXT_LENGTH, text_inputs
from imgsearch_helpers.index import ImageIndex

DUAL = ["tiny_clip", "tiny_siglip", "tiny_siglip2"]


@pytest.mark.parametrize("fixture", DUAL)
def test_embeddings_are_unit_norm_float32_and_match_model(request, fixture, pictures):
    loaded = load_model(request.getfixturevalue(fixture), device="cpu")
    texts = embed_texts(loaded, ["a lake", "a red car", "zzz ünïcödé 猫"])
    images = embed_images(loaded, pictures, batch_size=2)
    for emb, n in ((texts, 3), (images, len(pictures))):
        assert emb.dtype == np.float32 and emb.shape[0] == n
        np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    # Batching must not change the result: compare with one image per call.
    one_by_one = np.concatenate([embed_images(loaded, [p]) for p in pictures])
    np.testing.assert_allclose(images, one_by_one, atol=1e-5)
    # The result equals the model's own features, normalised.
    inputs = loaded.processor.image_processor(images=pictures[:1], return_tensors="pt")
    with torch.no_grad():
        ref = loaded.model.get_image_features(**inputs).pooler_output
    ref = torch.nn.functional.normalize(ref, dim=-1).numpy()
    np.testing.assert_allclose(images[:1], ref, atol=1e-5)


@pytest.mark.parametrize("fixture,padded", [("tiny_clip", False), ("tiny_siglip", True),
                                            ("tiny_siglip2", True)])
def test_siglip_text_is_padded_to_64_tokens(request, fixture, padded):
    loaded = load_model(request.getfixturevalue(fixture), device="cpu")
    inputs = text_inputs(loaded, ["a cat", "a much longer caption about a cat"])
    length = inputs["input_ids"].shape[1]
    assert (length == SIGLIP_TEXT_LENGTH) == padded


def test_long_text_is_truncated_with_warning(tiny_siglip):
    loaded = load_model(tiny_siglip, device="cpu")
    with pytest.warns(UserWarning, match="truncated"):
        emb = embed_texts(loaded, ["word " * 200])
    assert emb.shape[0] == 1


@pytest.mark.parametrize("bad", ["", "   ", "\n\t"])
def test_empty_query_is_a_clear_error(tiny_clip, bad):
    loaded = load_model(tiny_clip, device="cpu")
    with pytest.raises(ValueError, match="non-empty"):
        embed_texts(loaded, bad)


def test_classifier_has_no_embeddings(tiny_vit, pictures):
    loaded = load_model(tiny_vit, device="cpu")
    with pytest.raises(ValueError, match="classifier"):
        embed_texts(loaded, "a lake")
    with pytest.raises(ValueError, match="classifier"):
        embed_images(loaded, pictures)


def test_files_are_embedded_and_bad_ones_skipped_with_reason(tiny_clip, pictures, tmp_path):
    loaded = load_model(tiny_clip, device="cpu")
    paths = []
    for i, p in enumerate(pictures):
        paths.append(tmp_path / f"p{i}.png")
        p.save(paths[-1])
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "notes.png").write_text("not an image")
    files = paths[:2] + [tmp_path / "empty.jpg"] + paths[2:] + [tmp_path / "notes.png"]
    emb, ok, skipped = embed_image_files(loaded, files, batch_size=2)
    assert ok == [0, 1, 3, 4, 5] and emb.shape[0] == 5
    reasons = dict((p.name, r) for p, r in skipped)
    assert "empty" in reasons["empty.jpg"] and "not an image" in reasons["notes.png"]
    np.testing.assert_allclose(emb, embed_images(loaded, pictures), atol=1e-5)
    with pytest.raises(ImageLoadError, match="empty"):
        embed_images(loaded, files)


# -- large pictures in bounded memory, batches by shape --------------------------------

def test_extreme_aspect_ratio_is_embedded_in_bounded_memory(tiny_clip, tmp_path):
    # A 1 x 60,000 px strip is a 100-byte PNG; resized naively (short side to 32 px)
    # it would need ~700 MB of float32 pixels.
    Image.new("RGB", (60_000, 1), (200, 30, 30)).save(tmp_path / "strip.png")
    loaded = load_model(tiny_clip, device="cpu")
    tracemalloc.start()
    try:
        emb, ok, skipped = embed_image_files(loaded, [tmp_path / "strip.png"])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert ok == [0] and not skipped and np.isfinite(emb).all()
    assert peak < 50 << 20, peak


def test_images_are_batched_by_shape():
    """Equal shapes stack into one batch; other shapes (FG-CLIP 2's patch budgets) form their own."""
    import torch

    from imgsearch_helpers.embeddings import _collate

    same = [(0, ({"pixel_values": torch.zeros(1, 3, 4, 4)}, None)), (1, (None, "bad")),
            (2, ({"pixel_values": torch.ones(1, 3, 4, 4)}, None))]
    positions, batches, skipped = _collate(same)
    assert positions == [0, 2] and skipped == [(1, "bad")]
    assert [rows for rows, _ in batches] == [[0, 1]] and batches[0][1]["pixel_values"].shape[0] == 2
    mixed = [(0, ({"pixel_values": torch.zeros(1, 3, 4, 4)}, None)),
             (1, ({"pixel_values": torch.full((1, 3, 5, 4), 1.0)}, None)),
             (2, ({"pixel_values": torch.full((1, 3, 4, 4), 2.0)}, None))]
    positions, batches, _ = _collate(mixed)
    assert positions == [0, 1, 2]
    assert [(rows, b["pixel_values"][:, 0, 0, 0].tolist()) for rows, b in batches] == [
        ([0, 2], [0.0, 2.0]), ([1], [1.0])]


# -- a query that is not valid Unicode -------------------------------------------------

def test_a_lone_surrogate_query_is_a_clear_value_error(tiny_clip, tmp_path):
    loaded = load_model(tiny_clip, device="cpu")
    make_picture(1).save(tmp_path / "a.png")
    index = ImageIndex.build(tmp_path, loaded)
    for search in (lambda q: embed_texts(loaded, q), lambda q: index.search_text(loaded, q)):
        with pytest.raises(ValueError, match="not valid Unicode.*position 4"):
            search("cat \udcff on a sofa")
