"""Rows of a flat matrix file read with ``pread`` into the process's own buffers, never mapped.

A mapped file's pages that a question touched stay in the replica's resident memory (they
count as its RSS, file-backed) until the kernel needs them back: a million-chunk replica held
3 GB of mapped index pages after 60 questions on top of 3.5 GB of its own. Read this way, the
same bytes are in the page cache, shared and dropped first, and the replica keeps only what
it copied for the question at hand. A question reads ~30,000 int8 rows in a few dozen runs
and re-scores a few hundred float32 rows, so the system calls cost well under a millisecond.
Writing the index (``ingest.store.sentence_file``) reads its rows back the same way.

Example:
    >>> import tempfile, numpy as np
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "m.f32"
    >>> np.arange(12, dtype=np.float32).reshape(4, 3).tofile(path)
    >>> rows = RowFile(path, np.float32, 3)
    >>> rows.shape, rows[1].tolist(), rows[2:4].tolist()
    ((4, 3), [3.0, 4.0, 5.0], [[6.0, 7.0, 8.0], [9.0, 10.0, 11.0]])
    >>> rows[np.array([3, 0])].tolist()
    [[9.0, 10.0, 11.0], [0.0, 1.0, 2.0]]
"""

from __future__ import annotations

import os
import weakref
from pathlib import Path

import numpy as np


class RowFile:
    """``shape[0]`` rows of ``width`` values of ``dtype``, read on indexing: an int gives one
    row, a slice (step 1) a block, an int array those rows in its order."""

    def __init__(self, path: Path, dtype: np.dtype | type, width: int) -> None:
        self.dtype = np.dtype(dtype)
        if width < 1:
            raise ValueError("width must be >= 1")
        self._row_bytes = width * self.dtype.itemsize
        size = path.stat().st_size
        if size % self._row_bytes:
            raise ValueError(f"{path} holds {size} bytes, not whole rows of {self._row_bytes}")
        self.shape = (size // self._row_bytes, width)
        self._fd = os.open(path, os.O_RDONLY)
        weakref.finalize(self, os.close, self._fd)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: int | slice | np.ndarray) -> np.ndarray:
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            if step != 1:
                raise ValueError("only contiguous slices are read")
            return self._block(start, max(start, stop))
        if isinstance(key, (int, np.integer)):
            index = int(key) + (len(self) if key < 0 else 0)
            if not 0 <= index < len(self):
                raise IndexError(key)
            return self._block(index, index + 1)[0]
        rows = np.asarray(key, dtype=np.int64)
        out = np.empty((len(rows), self.shape[1]), dtype=self.dtype)
        if not len(rows):
            return out
        if rows.min() < 0 or rows.max() >= len(self):
            raise IndexError("row out of range")
        # Runs of consecutive rows are read in one call each.
        breaks = np.flatnonzero(np.diff(rows) != 1) + 1
        for first, last in zip(
            np.concatenate(([0], breaks)), np.concatenate((breaks, [len(rows)])), strict=True
        ):
            out[first:last] = self._block(int(rows[first]), int(rows[first]) + last - first)
        return out

    def _block(self, start: int, stop: int) -> np.ndarray:
        out = np.empty((stop - start, self.shape[1]), dtype=self.dtype)
        want = out.nbytes
        # Straight into the array: no bytes object to allocate and copy again.
        got = os.preadv(self._fd, [memoryview(out).cast("B")], start * self._row_bytes)
        if got != want:
            raise OSError(f"short read: {got} of {want} bytes")
        return out
