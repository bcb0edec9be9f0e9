"""What the Explore panel is looking at, with no Qt: the widgets write into it and render from it.

The latent on screen is built in layers:
    origin   the latent last chosen (a seed, a bookmark, a keyframe, a point between A and B, a photo)
    base     origin with the per-dimension slider edits
    edited   base + Σ amount_i · principal direction_i + Σ amount_j · attribute vector_j (each attribute
             vector projected off the attributes its slider keeps, when it keeps any)
    latent   truncate(edited, ψ): what the generator renders
Bookmarks and keyframes keep `edited` (before ψ), as `latentlab walk --latents ... --truncation`
expects, so the same ψ shows the same face. latentlab.latent (and torch with it) is imported on first
use, so that importing the panel does not delay the window.

Every change goes through a method that announces which aspects changed (see events.py):
    LATENT     the latent on screen may differ: the view re-renders
    BASE       origin and base were replaced: the per-dimension sliders and the seed re-show
    AMOUNTS    the direction and attribute amounts were replaced: their sliders re-show
    KEYFRAMES  keyframe A or B changed: their labels re-show
    STRIP      the frames between A and B may differ: the strip re-renders
"""

from __future__ import annotations

import numpy as np

from latentlab.gui.state.events import ChangeModel

STRIP_FRAMES = 8
LATENT, BASE, AMOUNTS, KEYFRAMES, STRIP = "latent", "base", "amounts", "keyframes", "strip"
EVERYTHING = (LATENT, BASE, AMOUNTS, KEYFRAMES, STRIP)


class ExploreState(ChangeModel):
    def __init__(self, latent_dim: int = 0):
        super().__init__()
        self.reset_model(latent_dim)

    def reset_model(self, latent_dim: int) -> None:
        """A model with another latent size: everything starts over."""
        self.latent_dim = int(latent_dim)
        self.origin = np.zeros(self.latent_dim, np.float32)
        self.base = self.origin.copy()
        self.seed: int | None = None
        self.source = ""  # what the origin is, in words
        self.principal: np.ndarray | None = None  # (k, nz) unit rows
        self.principal_amounts = np.zeros(0, np.float32)
        self.attribute_names: list[str] = []
        self.attributes = np.zeros((0, self.latent_dim), np.float32)
        self.attribute_amounts = np.zeros(0, np.float32)
        self.attribute_keep: list[frozenset[int]] = []  # per attribute: the attributes its slider keeps
        self.psi = 1.0
        self.keyframes: dict[str, tuple[np.ndarray, str] | None] = {"A": None, "B": None}
        self.t = 0.0
        self.interp = "slerp"
        self.photo: dict | None = None  # {"photo", "z", "reconstruction", "name"} of the encoded photo
        self.editing_photo = False  # the origin is that photo's encoding
        self.notify(*EVERYTHING)

    def invalidate(self) -> None:
        """The pictures are stale though the latents are not (new weights): render everything again."""
        self.notify(LATENT, STRIP)

    # -- choosing the origin ---------------------------------------------------------------------
    def set_origin(self, z, source: str, seed: int | None = None, keep_edits: bool = True) -> None:
        z = np.asarray(z, np.float32).reshape(-1)
        if z.shape != (self.latent_dim,):
            raise ValueError(f"latent of size {z.size} for a model with latent_dim {self.latent_dim}")
        self.origin = z.copy()
        self.base = z.copy()
        self.seed, self.source = seed, source
        self.editing_photo = False
        with self.batch():
            self.notify(BASE, LATENT)
            if not keep_edits:
                self.clear_amounts()

    def randomize(self, seed: int) -> None:
        from latentlab.latent import seed_latent

        self.set_origin(seed_latent(seed, self.latent_dim), f"seed {seed}", seed=seed)

    def set_photo(self, encoded: dict) -> None:
        """An encoded photo becomes the face to edit: its mean latent is the origin, edits start at 0."""
        with self.batch():  # listeners see editing_photo already set
            self.photo = encoded
            self.set_origin(encoded["z"], f"photo {encoded.get('name', '')}".strip(), keep_edits=False)
            self.editing_photo = True

    def replace_photo(self, encoded: dict | None) -> None:
        """The same photo seen by new weights (or none): the latent on screen stays."""
        self.photo = encoded
        if encoded is None:
            self.editing_photo = False

    # -- edits ---------------------------------------------------------------------------------------
    def set_dim(self, i: int, value: float) -> None:
        self.base[i] = value
        self.notify(LATENT)

    def reset_dim(self, i: int) -> float:
        self.base[i] = self.origin[i]
        self.notify(BASE, LATENT)
        return float(self.base[i])

    def set_principal_amount(self, i: int, value: float) -> None:
        self.principal_amounts[i] = value
        self.notify(LATENT)

    def set_attribute_amount(self, i: int, value: float) -> None:
        self.attribute_amounts[i] = value
        self.notify(LATENT)

    def set_psi(self, psi: float) -> None:
        self.psi = psi
        self.notify(LATENT, STRIP)

    def clear_amounts(self) -> None:
        self.principal_amounts[:] = 0
        self.attribute_amounts[:] = 0
        self.notify(AMOUNTS, LATENT)

    def reset(self) -> None:
        self.base = self.origin.copy()
        with self.batch():
            self.notify(BASE, LATENT)
            self.clear_amounts()

    # New rows of sliders come with these (their widgets rebuild them), hence no AMOUNTS; the latent
    # changes only where the old amounts were not all zero.
    def set_principal(self, directions: np.ndarray | None) -> None:
        edited = self.principal_amounts.any()
        self.principal = None if directions is None else np.asarray(directions, np.float32)
        self.principal_amounts = np.zeros(0 if directions is None else len(directions), np.float32)
        if edited:
            self.notify(LATENT)

    def set_attributes(self, vectors: dict[str, np.ndarray]) -> None:
        edited = self.attribute_amounts.any()
        self.attribute_names = sorted(vectors)
        self.attributes = np.stack([vectors[n] for n in self.attribute_names]).astype(np.float32) \
            if vectors else np.zeros((0, self.latent_dim), np.float32)
        self.attribute_amounts = np.zeros(len(self.attribute_names), np.float32)
        self.attribute_keep = [frozenset()] * len(self.attribute_names)
        if edited:
            self.notify(LATENT)

    def set_attribute_keep(self, i: int, keep) -> None:
        """Attribute i's slider moves along its vector projected off these attributes' vectors
        (conditional editing, Shen et al. 2020): the kept attributes' scores stay as they are."""
        self.attribute_keep[i] = frozenset(int(j) for j in keep if j != i)
        if self.attribute_amounts[i]:
            self.notify(LATENT)

    def attribute_vector(self, i: int) -> np.ndarray:
        """The vector attribute i's slider moves along (conditional on the attributes it keeps)."""
        keep = sorted(self.attribute_keep[i]) if i < len(self.attribute_keep) else []
        if not keep:
            return self.attributes[i]
        from latentlab.config import UserError
        from latentlab.latent.classify import conditional

        try:
            return conditional(self.attributes[i], self.attributes[keep])
        except UserError:  # it lies in the kept span: keeping them leaves nothing to move along
            return np.zeros_like(self.attributes[i])

    # -- what gets rendered ------------------------------------------------------------------------------
    def edited(self) -> np.ndarray:
        z = self.base.astype(np.float32, copy=True)
        if self.principal is not None and self.principal_amounts.any():
            z += self.principal_amounts @ self.principal
        if self.attribute_amounts.any():
            if any(self.attribute_keep):
                for i in np.flatnonzero(self.attribute_amounts):
                    z += self.attribute_amounts[i] * self.attribute_vector(int(i))
            else:
                z += self.attribute_amounts @ self.attributes
        return z

    def latent(self) -> np.ndarray:
        from latentlab.latent import truncate

        return truncate(self.edited(), self.psi)

    def is_pure_seed(self) -> bool:
        """The latent on screen is exactly its seed's (so a bookmark may record the seed)."""
        return self.seed is not None and self.is_untouched()

    def is_untouched(self) -> bool:
        """No slider has moved the latent away from its origin (a seed, a photo, a bookmark)."""
        return np.array_equal(self.edited(), self.origin)

    def label(self) -> str:
        """The latent on screen in words: its source, "edited …" once a slider moved it."""
        return self.source if self.is_untouched() else f"edited {self.source}".strip()

    # -- keyframes -----------------------------------------------------------------------------------
    def set_keyframe(self, which: str, z, label: str) -> None:
        self.keyframes[which] = (np.asarray(z, np.float32).reshape(-1).copy(), label)
        self.notify(KEYFRAMES, STRIP)

    def keyframe_label(self, which: str) -> str:
        return "not set" if self.keyframes[which] is None else self.keyframes[which][1]

    def set_interp(self, mode: str) -> None:
        """Slerp or lerp: the strip changes, and so does the point between A and B if one is shown."""
        with self.batch():
            self.interp = mode
            self.notify(STRIP)
            if self.has_keyframes():
                self.go_between(self.t)

    def has_keyframes(self) -> bool:
        return all(self.keyframes[k] is not None for k in ("A", "B"))

    def between(self, t: float) -> np.ndarray:
        from latentlab.latent import interpolate

        a, b = self.keyframes["A"][0], self.keyframes["B"][0]
        return np.asarray(interpolate(self.interp, a, b, float(t)), np.float32)

    def go_between(self, t: float) -> None:
        """Move the origin to the point t of the way from A to B (edits by direction are kept)."""
        self.t = float(t)
        self.set_origin(self.between(t), f"{t:.2f} of the way from A to B")

    def strip(self, n: int = STRIP_FRAMES) -> np.ndarray:
        """(n, nz): A, the n−2 latents between, B, each truncated by ψ like the view."""
        from latentlab.latent import interpolate, truncate

        a, b = self.keyframes["A"][0], self.keyframes["B"][0]
        z = np.asarray(interpolate(self.interp, a, b, np.linspace(0.0, 1.0, n)), np.float32)
        z[0], z[-1] = a, b  # exactly the keyframes, not their float64 round trip
        return truncate(z, self.psi)
