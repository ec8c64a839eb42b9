"""Names and defaults the package reads in many places, named once (imported, never retyped).

Nothing here imports the rest of the package, so every module may import it.
"""
from __future__ import annotations

__all__ = ["MODEL_ENV", "DEVICE_ENV", "PROFILE_ENV", "DATA_ENV", "HUB_OFFLINE_ENV",
           "BATCH_SIZE", "DRAFT_SIZE", "DECODER", "DUPLICATE_THRESHOLD", "TOP_K", "COMMAND_TOP_K",
           "GALLERY_FOLDER", "PHOTOS_FOLDER", "env_flag"]

# Environment variables.
MODEL_ENV = "IMGSEARCH_MODEL"          # the command's default model
DEVICE_ENV = "IMGSEARCH_DEVICE"        # cpu, cuda, cuda:1, mps
PROFILE_ENV = "IMGSEARCH_PROFILE"      # online / offline
DATA_ENV = "IMGSEARCH_DATA"            # another data/ folder
HUB_OFFLINE_ENV = "HF_HUB_OFFLINE"     # the Hugging Face libraries' own switch

# Embedding pictures: images per model call, the side large pictures are reduced to
# while decoding (the models see 224-384 px), and how decoding runs (decoding.DECODERS).
BATCH_SIZE = 32
DRAFT_SIZE = 512
DECODER = "auto"

# How many results a search returns when none is asked for (the API, the notebooks'
# row of pictures, the Milvus store).
TOP_K = 5
# What a command prints when no -k is given (imgsearch search/similar, imgsearch-scale
# search): ten lines fit a terminal at a glance, as rclip's default.
COMMAND_TOP_K = 10

# The cosine above which two pictures count as near-duplicates when the model's own,
# measured threshold is not known (similarity.duplicate_threshold).
DUPLICATE_THRESHOLD = 0.95

# The course's two picture folders, inside data/ (models.GALLERY_DIR, models.PHOTOS_DIR).
GALLERY_FOLDER = "gallery"
PHOTOS_FOLDER = "photos"


def env_flag(name: str) -> bool:
    """Whether an environment variable is set to something other than 0/false/no/empty.

    Parameters
    ----------
    name : str

    Returns
    -------
    bool
    """
    import os

    return os.environ.get(name, "0").strip().lower() not in ("0", "", "false", "no")
