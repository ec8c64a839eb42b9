"""Zero-shot scores from embeddings equal the transformers pipeline's, for CLIP and SigLIP."""
import numpy as np
import pytest
from transformers import pipeline

from imgsearch_helpers import embed_images, embed_texts, load_model, zero_shot_classify, zero_shot_scores

LABELS = ["a lake", "a car", "a cat", "a tree"]


@pytest.mark.parametrize("fixture", ["tiny_clip", "tiny_siglip", "tiny_siglip2"])
def test_helper_scores_equal_pipeline_scores(request, fixture, pictures):
    path = request.getfixturevalue(fixture)
    loaded = load_model(path, device="cpu")
    pipe = pipeline("zero-shot-image-classification", model=str(path), device="cpu")
    for picture in pictures[:3]:
        expected = {d["label"]: d["score"] for d in pipe(picture, candidate_labels=LABELS)}
        got = {d["label"]: d["score"] for d in zero_shot_classify(loaded, picture, LABELS)}
        assert got.keys() == expected.keys()
        for label in LABELS:
            assert got[label] == pytest.approx(expected[label], abs=1e-5)


def test_clip_scores_sum_to_one_and_siglip_scores_do_not(tiny_clip, tiny_siglip, pictures):
    clip, siglip = load_model(tiny_clip, device="cpu"), load_model(tiny_siglip, device="cpu")
    c = zero_shot_scores(clip, embed_images(clip, pictures), embed_texts(clip, LABELS))
    s = zero_shot_scores(siglip, embed_images(siglip, pictures), embed_texts(siglip, LABELS))
    np.testing.assert_allclose(c.sum(axis=1), 1.0, atol=1e-6)
    # An untrained SigLIP with bias -10 and scale 10 gives every pair sigmoid(<0): tiny.
    assert np.all(s < 0.01) and np.all(np.abs(s.sum(axis=1) - 1.0) > 0.5)


def test_scores_follow_the_formulas(tiny_clip, tiny_siglip):
    rng = np.random.default_rng(0)
    img = rng.normal(size=(2, 16)); img /= np.linalg.norm(img, axis=1, keepdims=True)
    txt = rng.normal(size=(3, 16)); txt /= np.linalg.norm(txt, axis=1, keepdims=True)
    clip, siglip = load_model(tiny_clip, device="cpu"), load_model(tiny_siglip, device="cpu")
    logits = clip.logit_scale * img @ txt.T
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(zero_shot_scores(clip, img, txt), softmax, rtol=1e-9)
    z = siglip.logit_scale * img @ txt.T + siglip.logit_bias
    np.testing.assert_allclose(zero_shot_scores(siglip, img, txt), 1 / (1 + np.exp(-z)), rtol=1e-9)
    assert siglip.logit_scale == pytest.approx(10.0) and siglip.logit_bias == pytest.approx(-10.0)
    np.testing.assert_allclose(zero_shot_scores(clip, img[0], txt), softmax[0], rtol=1e-9)
