"""Course profiles: the real models on photos (online) or the course's own models (offline)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .settings import PROFILE_ENV
from .images import find_image_files
from .models import GALLERY_DIR, PHOTOS_DIR, hub_reachable, is_cached

__all__ = ["Profile", "get_profile", "PROFILE_ENV", "PROFILE_MODELS"]


PROFILE_MODELS = {
    "online": {"classifier": "google/vit-base-patch16-224",
               "clip": "openai/clip-vit-base-patch32",
               "siglip": "google/siglip2-base-patch16-naflex"},
    "offline": {"classifier": "imgsearch/clipart-vit",
                "clip": "imgsearch/clipart-clip",
                "siglip": "imgsearch/clipart-siglip"},
}
_GALLERY = {"online": PHOTOS_DIR, "offline": GALLERY_DIR}


@dataclass(frozen=True)
class Profile:
    """Which models and which pictures a notebook uses, and why."""

    name: str
    classifier: str
    clip: str
    siglip: str
    gallery: Path
    reason: str

    def gallery_images(self) -> list[Path]:
        """The gallery's image files, sorted by name."""
        return [self.gallery / name for name in find_image_files(self.gallery, recursive=False)[0]]

    def check(self, condition: bool, claim: str, got: str = "") -> bool:
        """Check a claim of a notebook about this profile's models and pictures.

        Offline, on the course's own models and clip-art, the claims are known to hold:
        one that fails stops the notebook (:func:`~imgsearch_helpers.course.check`), so CI
        notices. Online, on real models and photos (perhaps the learner's own), it prints
        a ``⚠`` line and the notebook goes on (:func:`~imgsearch_helpers.course.expect`).
        The one place that decides, so that a notebook's check reads as one line.

        Parameters
        ----------
        condition : bool
        claim : str
            What should be true, e.g. "'luxury car' ranks a car first".
        got : str, optional
            What came instead, shown on an online ``⚠`` line.

        Returns
        -------
        bool
            ``condition``.
        """
        from .course import check, expect

        if self.name == "offline":
            check(condition, claim)
            return True
        return expect(condition, claim, got)

    def banner(self) -> str:
        """A short text saying which profile runs, why, and how to change it."""
        lines = [f"Profile: {self.name.upper()} - {self.reason}",
                 f"  classifier: {self.classifier}", f"  CLIP:       {self.clip}",
                 f"  SigLIP:     {self.siglip}", f"  gallery:    {self.gallery}"]
        if self.name == "offline":
            lines.append("  These are small models trained by this course on clip-art scenes. For the "
                         "real models: go online and run `make prefetch`, then restart the kernel "
                         f"(or set {PROFILE_ENV}=online).")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        import html
        color = "#e8f4ea" if self.name == "online" else "#fff4e0"
        return (f'<pre style="background:{color};padding:8px;border-radius:6px">'
                f"{html.escape(self.banner())}</pre>")


def _make(name: str, reason: str) -> Profile:
    return Profile(name, gallery=_GALLERY[name], reason=reason, **PROFILE_MODELS[name])


def get_profile(name: str | None = None) -> Profile:
    """Choose the course profile.

    Parameters
    ----------
    name : {"online", "offline"}, optional
        Default: the ``IMGSEARCH_PROFILE`` environment variable; when that is unset,
        online if the real models are cached or the Hugging Face Hub is reachable,
        else offline.

    Returns
    -------
    Profile. Display it in a notebook to show the banner.
    """
    name = name or os.environ.get(PROFILE_ENV) or None
    if name is not None:
        name = name.strip().lower()
        if name not in PROFILE_MODELS:
            raise ValueError(f"{PROFILE_ENV}={name!r}: use 'online' or 'offline'")
        return _make(name, f"chosen by {PROFILE_ENV}={name}" if os.environ.get(PROFILE_ENV)
                     else "chosen explicitly")
    real = [m for m in PROFILE_MODELS["online"].values()]
    if all(is_cached(m) for m in real):
        return _make("online", "the real models are in the local Hugging Face cache")
    if hub_reachable():
        return _make("online", "the Hugging Face Hub is reachable; models download on first use")
    return _make("offline", "the real models are not cached and the Hugging Face Hub is not "
                            "reachable")
