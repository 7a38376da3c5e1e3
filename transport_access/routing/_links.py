"""Sparse walk (or cycle/drive) links between two sets of points, in whole seconds.

``Links`` is the common currency between the street layer and the transit engine: access
(origin -> stop), egress (stop -> destination, stored as destination -> stop or stop ->
destination as documented by the producer), transfers (stop -> stop) and walk-only trips
(origin -> destination). Row ``i`` holds the targets reachable from source ``i`` within the
producer's cut-off, in CSR layout, which numba kernels read directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Links:
    """Travel times from ``n_from`` sources to ``n_to`` targets, CSR layout.

    Attributes
    ----------
    indptr : numpy.ndarray of int64, shape (n_from + 1,)
        Row ``i`` is ``indices[indptr[i]:indptr[i + 1]]``.
    indices : numpy.ndarray of int32
        Target index of each link.
    seconds : numpy.ndarray of int32
        Travel time of each link in whole seconds (0 allowed).
    n_to : int
        Number of targets.
    """

    indptr: np.ndarray
    indices: np.ndarray
    seconds: np.ndarray
    n_to: int

    @property
    def n_from(self) -> int:
        """Number of sources."""
        return len(self.indptr) - 1

    @property
    def n_links(self) -> int:
        """Number of stored links."""
        return len(self.indices)

    @classmethod
    def from_pairs(
        cls, n_from: int, n_to: int, src: np.ndarray, dst: np.ndarray, seconds: np.ndarray
    ) -> Links:
        """Build from parallel arrays; duplicate (src, dst) pairs keep the smallest time.

        Parameters
        ----------
        n_from, n_to : int
            Numbers of sources and targets.
        src, dst : numpy.ndarray of int
            Source and target index of each link.
        seconds : numpy.ndarray
            Travel time of each link; rounded to whole seconds.

        Returns
        -------
        Links
        """
        src = np.asarray(src, dtype=np.int64)
        dst = np.asarray(dst, dtype=np.int64)
        secs = np.rint(np.asarray(seconds, dtype=np.float64)).astype(np.int64)
        order = np.lexsort((secs, dst, src))
        src, dst, secs = src[order], dst[order], secs[order]
        if len(src):
            keep = np.ones(len(src), dtype=bool)
            keep[1:] = (src[1:] != src[:-1]) | (dst[1:] != dst[:-1])
            src, dst, secs = src[keep], dst[keep], secs[keep]
        indptr = np.zeros(n_from + 1, dtype=np.int64)
        np.add.at(indptr, src + 1, 1)
        indptr = np.cumsum(indptr)
        return cls(indptr, dst.astype(np.int32), secs.astype(np.int32), int(n_to))

    def to_dense(self, fill: float = np.nan) -> np.ndarray:
        """Return an ``(n_from, n_to)`` float array of seconds, ``fill`` where there is no link."""
        out = np.full((self.n_from, self.n_to), fill, dtype=np.float64)
        rows = np.repeat(np.arange(self.n_from), np.diff(self.indptr))
        out[rows, self.indices] = self.seconds
        return out

    def transpose(self) -> Links:
        """Return the links reversed (targets become sources)."""
        rows = np.repeat(np.arange(self.n_from), np.diff(self.indptr))
        return Links.from_pairs(self.n_to, self.n_from, self.indices, rows, self.seconds)


def minimum(first: Links, *others: Links) -> Links:
    """Element-wise minimum of links over the same sources and targets (a rider may choose).

    Parameters
    ----------
    first, *others : Links
        Links of equal shape ``(n_from, n_to)``.

    Returns
    -------
    Links
        Every pair present in any input, with its smallest time.
    """
    if not others:
        return first
    parts = (first, *others)
    if any(p.n_from != first.n_from or p.n_to != first.n_to for p in parts):
        shapes = [(p.n_from, p.n_to) for p in parts]
        raise ValueError(f"links must have the same shape to be combined, got {shapes}")
    rows = [np.repeat(np.arange(p.n_from), np.diff(p.indptr)) for p in parts]
    return Links.from_pairs(
        first.n_from,
        first.n_to,
        np.concatenate(rows),
        np.concatenate([p.indices for p in parts]),
        np.concatenate([p.seconds for p in parts]),
    )
