"""Operations on the latent space (docs/algorithms.md §4): interpolation, truncation, easing, seeded latents,
walk paths, principal directions, attribute vectors, bookmarks. No Qt; numpy or torch in, same out."""

# Submodules load on first use: importing latentlab.latent (e.g. for bookmarks) must not pull in
# torch, so the window can show before torch has loaded.
_WHERE = {
    "BOOKMARKS_FORMAT": "bookmarks",
    "EASINGS": "interp",
    "INTERPOLATIONS": "interp",
    "AttributeSet": "attributes",
    "Bookmark": "bookmarks",
    "attribute_vectors": "directions",
    "attributes_path": "attributes",
    "conditional": "classify",
    "fit_direction": "classify",
    "ease": "interp",
    "grid_keyframes": "walk",
    "grid_walks": "walk",
    "interpolate": "interp",
    "lerp": "interp",
    "load_attributes": "vectorfile",
    "load_bookmarks": "bookmarks",
    "load_principal": "vectorfile",
    "load_vectors": "vectorfile",
    "parse_grid": "walk",
    "parse_seeds": "walk",
    "principal_directions": "directions",
    "random_keyframes": "interp",
    "read_attributes": "attributes",
    "save_attributes": "vectorfile",
    "save_bookmarks": "bookmarks",
    "save_principal": "vectorfile",
    "store_attributes": "attributes",
    "save_vectors": "vectorfile",
    "seed_latent": "interp",
    "slerp": "interp",
    "truncate": "interp",
    "walk_keyframes": "walk",
    "walk_length": "walk",
    "walk_path": "walk",
    "walk_slice": "walk",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f"latentlab.latent.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'latentlab.latent' has no attribute {name!r}")
