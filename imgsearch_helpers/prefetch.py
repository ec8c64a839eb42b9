"""Download the course's real models ahead of time, and check a laptop is ready.

Run while online, e.g. before a workshop::

    python -m imgsearch_helpers.prefetch            # the online profile's models
    python -m imgsearch_helpers.prefetch --all      # every registered Hub model (FG-CLIP 2 too)
    python -m imgsearch_helpers.prefetch --check    # load each profile's models, embed one image
"""
from __future__ import annotations

import argparse
import sys
import time

from .models import available_models, model_info

__all__ = ["prefetch", "check"]


def prefetch(names) -> list[str]:
    """Download ``names`` into the Hugging Face cache; returns the names fetched."""
    from huggingface_hub import snapshot_download

    done = []
    for name in names:
        info = model_info(name)
        if info.local_dir:
            continue  # shipped with the course
        print(f"fetching {name} ({info.size}) ...", flush=True)
        snapshot_download(name)
        done.append(name)
    return done


def check(profile_names=("offline", "online")) -> bool:
    """Load every model of each profile and run it once; print one line per model."""
    from .embeddings import embed_images, embed_texts
    from .models import ModelNotAvailableError, load_model
    from .profiles import get_profile

    ok = True
    for pname in profile_names:
        profile = get_profile(pname)
        images = profile.gallery_images()
        if not images:
            print(f"[FAIL] {pname}: no images in {profile.gallery}")
            ok = False
            continue
        for name in (profile.classifier, profile.clip, profile.siglip):
            start = time.perf_counter()
            try:
                loaded = load_model(name)
                if loaded.has_text:
                    embed_texts(loaded, ["a test"])
                    embed_images(loaded, images[:1])
                else:
                    from .images import load_image
                    proc = loaded.processor(images=[load_image(images[0])], return_tensors="pt")
                    loaded.model(**proc.to(loaded.device))
            except (ModelNotAvailableError, OSError, ValueError) as err:
                print(f"[FAIL] {pname:8s} {name}: {str(err).splitlines()[0]}")
                ok = False
            else:
                print(f"[ ok ] {pname:8s} {name} ({time.perf_counter() - start:.1f} s)")
    return ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="registered model names (default: online profile)")
    parser.add_argument("--all", action="store_true", help="every registered Hub model")
    parser.add_argument("--check", action="store_true", help="check both profiles load and run")
    args = parser.parse_args(argv)
    if args.check:
        return 0 if check() else 1
    from .profiles import PROFILE_MODELS
    names = args.names or (available_models() if args.all else list(PROFILE_MODELS["online"].values()))
    prefetch(names)
    return 0


if __name__ == "__main__":
    sys.exit(main())
