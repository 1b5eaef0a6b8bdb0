"""Compact binary packing of a batch of track points (one ``TrackBatch.data`` value).

Layout (little endian): b"UGT1", uint32 n, then column arrays: int32 lon·1e7, int32 lat·1e7
(≈1 cm), int64 epoch milliseconds, float32 accuracy in metres (NaN = unknown). 24 bytes a
point against ~150 bytes for a row per point with its indexes.
"""

from __future__ import annotations

import struct

import numpy as np

MAGIC = b"UGT1"
_HEAD = struct.Struct("<4sI")
SCALE = 1e7


def pack(lons, lats, t_ms, acc=None) -> bytes:
    lons = np.asarray(lons, dtype=np.float64)
    lats = np.asarray(lats, dtype=np.float64)
    t_ms = np.asarray(t_ms, dtype=np.int64)
    n = len(lons)
    if acc is None:
        acc = np.full(n, np.nan, dtype=np.float32)
    acc = np.asarray(acc, dtype=np.float32)
    if not (len(lats) == len(t_ms) == len(acc) == n):
        raise ValueError("columns differ in length")
    return b"".join(
        [
            _HEAD.pack(MAGIC, n),
            np.round(lons * SCALE).astype("<i4").tobytes(),
            np.round(lats * SCALE).astype("<i4").tobytes(),
            t_ms.astype("<i8").tobytes(),
            acc.astype("<f4").tobytes(),
        ]
    )


def unpack(data) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(lons, lats, t_ms, acc) of one packed batch."""
    buf = bytes(data)
    magic, n = _HEAD.unpack_from(buf, 0)
    if magic != MAGIC:
        raise ValueError("not a packed track batch")
    off = _HEAD.size
    lon = np.frombuffer(buf, "<i4", n, off) / SCALE
    off += 4 * n
    lat = np.frombuffer(buf, "<i4", n, off) / SCALE
    off += 4 * n
    t = np.frombuffer(buf, "<i8", n, off).astype(np.int64)
    off += 8 * n
    acc = np.frombuffer(buf, "<f4", n, off).astype(np.float32)
    return lon, lat, t, acc


def unpack_many(blobs) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Concatenate many batches: (lons, lats, t_ms, acc, batch index of each point)."""
    parts = [unpack(b) for b in blobs]
    if not parts:
        e = np.empty(0)
        return e, e.copy(), np.empty(0, np.int64), np.empty(0, np.float32), np.empty(0, np.int64)
    lon = np.concatenate([p[0] for p in parts])
    lat = np.concatenate([p[1] for p in parts])
    t = np.concatenate([p[2] for p in parts])
    acc = np.concatenate([p[3] for p in parts])
    owner = np.repeat(np.arange(len(parts)), [len(p[0]) for p in parts])
    return lon, lat, t, acc, owner
