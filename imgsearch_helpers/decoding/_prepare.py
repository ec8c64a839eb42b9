"""One image on the CPU: decode it with :func:`load_image`, run the model's processor on it."""
from __future__ import annotations

from ..images import ImageLoadError, is_decoding_failure, load_image


def image_processor(loaded):
    """The image processor of a loaded model (its processor's ``image_processor``, or itself)."""
    return getattr(loaded.processor, "image_processor", loaded.processor)


def size_dict(size) -> dict:
    """A processor's ``size`` / ``crop_size`` as a plain dict without unset keys."""
    # transformers 5 uses a SizeDict (None for unset keys), 4.x a plain dict.
    if size is None:
        return {}
    return {k: v for k, v in dict(size).items() if v is not None}


def clamp_aspect(processor, width: int, height: int) -> tuple[int, int, int, int] | None:
    """The box ``(left, top, right, bottom)`` to keep of a very long picture, or None for all of it.

    CLIP-style processors scale the *shortest* side to 224 and then keep only the
    central 224 x 224: a 1 x 60,000 px strip (a 100-byte PNG) would first become
    224 x 13 million pixels, tens of GB. Cropping the long side to 3x the short one
    around the centre first keeps everything the centre crop would see.
    """
    shortest = size_dict(getattr(processor, "size", None)).get("shortest_edge")
    if not shortest or not getattr(processor, "do_center_crop", False):
        return None
    short, long_ = min(width, height), max(width, height)
    keep = 3 * short
    if long_ <= keep:
        return None
    off = (long_ - keep) // 2
    return (off, 0, off + keep, height) if width > height else (0, off, width, off + keep)


def processor_inputs(processor, images: list) -> dict:
    """Run an image processor on PIL images: a dict of tensors for the model."""
    clamped = []
    for im in images:
        box = clamp_aspect(processor, *im.size)
        clamped.append(im if box is None else im.crop(box))
    # NaFlex processors cut each image into patches at its own aspect ratio: SigLIP 2
    # into at most the saved max_num_patches (256), padded to that many; FG-CLIP 2
    # into a budget chosen from the image's size (128 to 1,024 patches), which for
    # several images in one call is the largest image's, so the pipeline calls it
    # once per image, as FG-CLIP 2's README does.
    return dict(processor(images=clamped, return_tensors="pt"))


def prepare_image(processor, item, draft_size: int | None):
    """Decode and preprocess one image: ``(inputs, None)`` or ``(None, reason)``.

    A failure caused by the image is its skip; a bug of ours propagates
    (:func:`~imgsearch_helpers.images.is_decoding_failure` tells which is which).
    """
    try:
        image = load_image(item, draft_size=draft_size)
    except ImageLoadError as err:
        return None, err.reason
    try:
        return processor_inputs(processor, [image]), None
    except Exception as err:
        if not is_decoding_failure(err):
            raise
        return None, f"the model's preprocessing failed ({type(err).__name__}: {err})"
