"""Named directions in z (attribute vectors) and the file beside a checkpoint that keeps them.

One class for every way a named direction is made (docs/algorithms.md §4):
    encoder   mean encoder μ with a label minus mean without (Larsen et al. 2016), a VAE/GAN's labelled data
    folders   a linear classifier on the latents of two folders of photos (projected, or a VAE/GAN's
              encoder refined by projection)
    taught    a linear classifier on samples the user labelled in the window (InterFaceGAN's recipe,
              Shen et al. 2020, with a person for the attribute classifier)
Every vector is stored at the length of the standard deviation of the latents it came from along
it, so a slider's ±3 spans the spread of those latents. File: CKPT.attributes.safetensors (the vectors
as tensors; counts, sources, kinds and accuracies in its JSON header).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from latentlab.config import UserError
from latentlab.latent.vectorfile import load_attributes, save_attributes

ATTRIBUTES_SUFFIX = ".attributes.safetensors"
KINDS = ("encoder", "folders", "taught")


@dataclass
class AttributeSet(Mapping):
    """name -> float32 (nz,) vector (a read-only mapping), with what is known of each: `counts`
    (name -> (with, without) latents used), `sources` (where they came from, in words), `kinds`
    (encoder | folders | taught), `accuracies` (held-out accuracy of a classifier's direction),
    `separations` (distance between the two groups' means in standard deviations along the vector)
    and `notes` (names skipped, and why)."""

    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    separations: dict[str, float] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    accuracies: dict[str, float] = field(default_factory=dict)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.vectors[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.vectors)

    def __len__(self) -> int:
        return len(self.vectors)

    def kind(self, name: str) -> str:
        return self.kinds.get(name, "encoder")  # files written before kinds were kept hold encoder vectors

    def add(self, name: str, vector: np.ndarray, *, counts: tuple[int, int], source: str, kind: str,
            accuracy: float | None = None, separation: float | None = None) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        self.vectors[name] = np.asarray(vector, np.float32)
        self.counts[name] = (int(counts[0]), int(counts[1]))
        self.sources[name] = source
        self.kinds[name] = kind
        if accuracy is not None and np.isfinite(accuracy):
            self.accuracies[name] = float(accuracy)
        if separation is not None:
            self.separations[name] = float(separation)

    def merged(self, other: AttributeSet) -> AttributeSet:
        """These with `other`'s added (the same name: other's wins)."""
        out = AttributeSet()
        for part in (self, other):
            for name in part.vectors:
                for mine, theirs in ((out.vectors, part.vectors), (out.counts, part.counts),
                                     (out.sources, part.sources), (out.separations, part.separations),
                                     (out.kinds, part.kinds), (out.accuracies, part.accuracies)):
                    if name in theirs:
                        mine[name] = theirs[name]
                    else:
                        mine.pop(name, None)
        out.notes = [*self.notes, *other.notes]
        return out

    def without(self, name: str) -> AttributeSet:
        out = AttributeSet(notes=list(self.notes))
        for key in self.vectors:
            if key != name:
                out = out.merged(self.only(key))
        return out

    def only(self, name: str) -> AttributeSet:
        out = AttributeSet()
        for mine, theirs in ((out.vectors, self.vectors), (out.counts, self.counts), (out.sources, self.sources),
                             (out.separations, self.separations), (out.kinds, self.kinds),
                             (out.accuracies, self.accuracies)):
            if name in theirs:
                mine[name] = theirs[name]
        return out

    def rows(self) -> list[tuple[str, int, int, float, float | None]]:
        """(name, with, without, norm, separation or None) for listing."""
        return [(n, *self.counts.get(n, (0, 0)), float(np.linalg.norm(v)), self.separations.get(n))
                for n, v in self.vectors.items()]

    def describe(self, name: str) -> str:
        """One line for a tooltip: how the direction was made and how well it separates."""
        pos, neg = self.counts.get(name, (0, 0))
        how = {"encoder": "encoder means", "folders": "classifier on photo latents",
               "taught": "classifier on labelled samples"}[self.kind(name)]
        acc = f", held-out accuracy {self.accuracies[name]:.0%}" if name in self.accuracies else ""
        return f"{name}: {how}, {pos} with / {neg} without{acc}; {self.sources.get(name, '')}".rstrip("; ")


def attributes_path(checkpoint: str | Path) -> Path:
    """CKPT.safetensors -> CKPT.attributes.safetensors, in the same folder."""
    p = Path(checkpoint)
    stem = p.name[: -len(p.suffix)] if p.suffix else p.name
    return p.with_name(stem + ATTRIBUTES_SUFFIX)


def read_attributes(checkpoint: str | Path) -> AttributeSet | None:
    """The vectors stored beside a checkpoint, or None when there are none."""
    path = attributes_path(checkpoint)
    if not path.is_file():
        return None
    vectors, meta = load_attributes(path)
    return AttributeSet(
        vectors,
        counts={k: (int(v[0]), int(v[1])) for k, v in meta.get("counts", {}).items()},
        sources=dict(meta.get("sources", {})),
        separations={k: float(v) for k, v in meta.get("separations", {}).items()},
        kinds={k: str(v) for k, v in meta.get("kinds", {}).items() if v in KINDS},
        accuracies={k: float(v) for k, v in meta.get("accuracies", {}).items()})


def store_attributes(checkpoint: str | Path, new: AttributeSet, replace: bool = False) -> Path:
    """Write `new` beside the checkpoint (atomically: temporary file + rename). Vectors already
    stored under other names are kept unless `replace`; the same name is overwritten."""
    old = None if replace else read_attributes(checkpoint)
    merged = new if old is None else old.merged(new)
    return _write(checkpoint, merged)


def remove_attribute(checkpoint: str | Path, name: str) -> Path:
    old = read_attributes(checkpoint)
    if old is None or name not in old:
        raise UserError(f"{attributes_path(checkpoint)}: no attribute {name!r} to remove")
    return _write(checkpoint, old.without(name))


def _write(checkpoint, attrs: AttributeSet) -> Path:
    names = attrs.vectors
    meta = {"checkpoint": Path(checkpoint).name,
            "counts": {k: list(v) for k, v in attrs.counts.items() if k in names},
            "sources": {k: v for k, v in attrs.sources.items() if k in names},
            "separations": {k: v for k, v in attrs.separations.items() if k in names},
            "kinds": {k: attrs.kind(k) for k in names},
            "accuracies": {k: v for k, v in attrs.accuracies.items() if k in names},
            "method": "encoder: mean encoder mu with the attribute minus mean without (Larsen et al. 2016); "
                      "folders, taught: unit normal of a logistic regression on the latents (Shen et al. 2020); "
                      "each scaled to the standard deviation of its latents along it"}
    path = attributes_path(checkpoint)
    save_attributes(path, attrs.vectors, meta)
    return path


def format_rows(attrs: AttributeSet) -> list[str]:
    rows = attrs.rows()
    width = max([len("attribute")] + [len(r[0]) for r in rows])
    out = [(f"{'attribute':{width}s}  {'with':>6s}  {'without':>7s}  {'norm':>7s}  {'separation':>10s}  "
            f"{'kind':7s}  {'accuracy':>8s}")]
    for name, pos, neg, norm, sep in rows:
        acc = attrs.accuracies.get(name)
        out.append(f"{name:{width}s}  {pos:6d}  {neg:7d}  {norm:7.3f}  {'-' if sep is None else f'{sep:.2f} sd':>10s}  "
                   f"{attrs.kind(name):7s}  {'-' if acc is None else f'{acc:.0%}':>8s}")
    return out


def check_name(name: str | None, flag: str = "--name") -> str:
    """An attribute's name: non-empty, no '=' or ',' (the CLI's `--direction NAME=AMOUNT` splits on them)."""
    name = (name or "").strip()
    if not name:
        raise UserError(f"{flag}: give the direction a name (e.g. {flag} smiling)")
    if any(c in name for c in "=,") or len(name) > 64:
        raise UserError(f"{flag} {name!r}: a name has at most 64 characters and no '=' or ','")
    return name
