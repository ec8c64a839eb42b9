"""``python -m imgsearch_helpers.training``: retrain the three offline models."""
from ._command import main

main()
