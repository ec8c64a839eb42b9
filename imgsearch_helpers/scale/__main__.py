"""``python -m imgsearch_helpers.scale``: embed with Ray, load and search in Milvus."""
import sys

from ._command import main

sys.exit(main())
