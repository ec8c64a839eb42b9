"""An interactive image search app for the notebook (notebook 05), built from ipywidgets.

Type a query and press Enter, or upload a picture; pick a model and how many
results to show; click "More like this" under a result to search with it; or
point the app at a folder of your own photos. Embeddings are computed once per
model and gallery and then reused, so switching back to a model is instant.

Examples
--------
>>> app = SearchApp(profile.gallery_images(), [profile.clip, profile.siglip])  # doctest: +SKIP
>>> app                                                                         # doctest: +SKIP

Inside: ``_app`` (SearchApp: what each event does), ``_view`` (the widgets and
their layout).
"""
from ._app import SearchApp

__all__ = ["SearchApp"]
