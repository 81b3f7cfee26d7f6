"""Weight-free, region-level picture search: ORB keypoints of every frame, a query picture matched frame by frame
and verified by a RANSAC homography (finds a picture that fills only part of a frame: a poster, a logo, a photo
on a screen, on any background).

Keypoints are spread over the frame: each cell of a GRID and each pyramid level keeps its own strongest FAST
corners (`keypoints`). A plain "strongest N in the frame" hands every keypoint to a dense texture (foliage,
gravel, grain, a cellular pattern) and none to a picture on 1/8 of the frame beside it. Frames keep at most
`budget` keypoints (fewer where there are fewer corners: smooth footage costs little).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from longlens.core.errors import InputError
from longlens.retrieval.image import gray

SCALE, EDGE, HALF = 1.2, 31, 15  # ORB's pyramid step, border and orientation radius (its defaults)
GRID = (10, 6)  # cells across and down a frame, each with its share of the keypoints
FRAME_LEVELS = 4  # pyramid levels of a frame: a picture shown up to ~1.7x the query's 320 px
QUERY_SIDES = (320, 224, 160, 112)  # the query at four sizes, 3 ORB levels each: down to ~78 px on screen
_FAST = cv2.FastFeatureDetector_create(threshold=10, nonmaxSuppression=True)
_YY, _XX = np.mgrid[-HALF:HALF + 1, -HALF:HALF + 1]
_DISK = (_XX**2 + _YY**2) <= HALF * HALF
_DX, _DY = _XX[_DISK].astype(np.float32), _YY[_DISK].astype(np.float32)
_ORBS: dict[int, cv2.ORB] = {}


def _orb(levels: int):
    if levels not in _ORBS:  # only its descriptor is used: keypoints are chosen here
        _ORBS[levels] = cv2.ORB_create(nfeatures=1, scaleFactor=SCALE, nlevels=levels, edgeThreshold=EDGE,
                                       patchSize=2 * HALF + 1)
    return _ORBS[levels]


def _empty() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8)


def keypoints(g: np.ndarray, *, budget: int, levels: int, grid: tuple[int, int] = GRID,
              decay: float = 1.2) -> tuple[np.ndarray, np.ndarray]:
    """ORB keypoints of a grey image [H, W] uint8 -> (points [M, 2] float32 pixels, descriptors [M, 32] uint8),
    strongest first within each level, levels interleaved (the first rows cover every scale).

    FAST corners (threshold 10) on each level of a 1.2x pyramid; each cell of `grid` (cells measured on the
    image itself) keeps its strongest corners of each level, `budget` shared out evenly over the cells and over
    the levels with weights decay**-level; orientation by intensity centroid over a radius-15 disk of the level
    (as ORB's), descriptors by OpenCV's ORB at the keypoints chosen."""
    h0, w0 = g.shape
    gx, gy = grid
    weights = decay ** -np.arange(levels, dtype=np.float64)
    quota = np.maximum(1, np.round(budget * weights / weights.sum() / (gx * gy))).astype(int)
    rows = []  # per level: points (level-0 px), response, angle, level
    for level in range(levels):
        s = SCALE**level
        img = g if level == 0 else cv2.resize(g, (round(w0 / s), round(h0 / s)), interpolation=cv2.INTER_LINEAR)
        h, w = img.shape
        if min(h, w) <= 2 * EDGE + 2:
            break
        kps = _FAST.detect(img, None)
        if not kps:
            continue
        p = np.array([k.pt for k in kps], np.float32)
        r = np.array([k.response for k in kps], np.float32)
        inside = (p[:, 0] >= EDGE) & (p[:, 1] >= EDGE) & (p[:, 0] < w - EDGE) & (p[:, 1] < h - EDGE)
        p, r = p[inside], r[inside]
        cx, cy = np.minimum((p[:, 0] / w * gx).astype(int), gx - 1), np.minimum((p[:, 1] / h * gy).astype(int), gy - 1)
        cell = cy * gx + cx
        order = np.lexsort((-r, cell))
        first = np.r_[0, np.flatnonzero(np.diff(cell[order])) + 1]
        rank = np.arange(len(order)) - np.repeat(first, np.diff(np.r_[first, len(order)]))
        keep = order[rank < quota[level]]
        keep = keep[np.argsort(-r[keep], kind="stable")]
        xi, yi = np.round(p[keep, 0]).astype(int), np.round(p[keep, 1]).astype(int)
        patch = img.astype(np.float32)[yi[:, None] + _DY.astype(int)[None, :], xi[:, None] + _DX.astype(int)[None, :]]
        angle = np.degrees(np.arctan2(patch @ _DY, patch @ _DX)) % 360
        rows.append((p[keep] * s, r[keep], angle, level))
    if not rows:
        return _empty()
    # interleave the levels by rank: row k of every level before row k + 1 of any
    order = sorted(((k, lv) for lv, row in enumerate(rows) for k in range(len(row[0]))))
    kps = []
    for k, lv in order:
        pts, resp, angle, level = rows[lv]
        size = float((2 * HALF + 1) * SCALE**level)
        kps.append(cv2.KeyPoint(float(pts[k, 0]), float(pts[k, 1]), size, float(angle[k]), float(resp[k]), int(level)))
    kps, desc = _orb(levels).compute(g, kps)
    if desc is None or not kps:
        return _empty()
    return np.array([k.pt for k in kps], np.float32), desc


@dataclass
class OrbFeatures:
    """ORB keypoints of every indexed frame, stored flat.

    points [M, 2] float32 (x, y pixels in the decoded frame); descriptors [M, 32] uint8;
    offsets [N + 1] int64: frame i owns rows offsets[i]:offsets[i + 1]."""

    points: np.ndarray
    descriptors: np.ndarray
    offsets: np.ndarray
    # faiss.IndexBinaryFlat, built on first query
    _binary: object = field(default=None, init=False, repr=False, compare=False)

    def shortlist(self, desc: np.ndarray, *, radius: int = 40, need: int = 4) -> np.ndarray:
        """Frames (sorted indices) where at least `need` of the descriptors `desc` [Q, 32] uint8 have a keypoint
        within `radius` bits: one FAISS binary range search over every keypoint of the video."""
        import faiss

        n = len(self)
        if self._binary is None:
            self._binary = faiss.IndexBinaryFlat(256)
            self._binary.add(np.ascontiguousarray(self.descriptors))
        if n == 0 or len(desc) == 0 or self._binary.ntotal == 0:
            return np.zeros(0, dtype=np.int64)
        lims, _, rows = self._binary.range_search(np.ascontiguousarray(desc), radius)
        lims = lims.astype(np.int64)
        frame = np.searchsorted(self.offsets, rows, side="right") - 1  # keypoint row -> its frame
        query = np.repeat(np.arange(len(desc)), np.diff(lims))
        pairs = np.unique(query * n + frame)  # each query keypoint counts once per frame
        return np.flatnonzero(np.bincount(pairs % n, minlength=n) >= need)

    def frame(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        return self.points[a:b], self.descriptors[a:b]

    def __len__(self) -> int:
        return len(self.offsets) - 1


class OrbExtractor:
    """Keypoints of grey frames (`keypoints`, at most `budget` each);
    `detect(image) -> (points [M, 2] float32, descriptors [M, 32] uint8)`."""

    def __init__(self, budget: int = 3000) -> None:
        self.budget = budget

    def key(self) -> str:
        return f"orb-cells{GRID[0]}x{GRID[1]}-{self.budget}-l{FRAME_LEVELS}-fast10-cv{cv2.__version__}"

    def detect(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return keypoints(gray(image), budget=self.budget, levels=FRAME_LEVELS)

    def build(self, per_frame: list[tuple[np.ndarray, np.ndarray]]) -> OrbFeatures:
        counts = [len(p) for p, _ in per_frame]
        offsets = np.zeros(len(per_frame) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum(counts)
        pts = np.concatenate([p for p, _ in per_frame]) if per_frame else np.zeros((0, 2), np.float32)
        desc = np.concatenate([d for _, d in per_frame]) if per_frame else np.zeros((0, 32), np.uint8)
        return OrbFeatures(pts.astype(np.float32), desc.astype(np.uint8), offsets)


def prepare_query(image: np.ndarray, *, per_size: int = 250) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """Query picture -> (points [Q, 2], descriptors [Q, 32], (h, w)), points in the picture resized to
    QUERY_SIDES[0] px on its long side. ORB (`per_size` keypoints, 3 levels) on the picture at each of
    QUERY_SIDES, strongest first, the sizes interleaved: one ORB pyramid gives its small levels few keypoints,
    and a picture shown on 1/8 of a frame meets only those."""
    if image.ndim not in (2, 3) or min(image.shape[:2]) < 16:
        raise InputError(f"query image must be at least 16 x 16 pixels, got shape {image.shape}")
    g0 = gray(image)
    h0, w0 = g0.shape
    orb = cv2.ORB_create(nfeatures=per_size, fastThreshold=10, nlevels=3, scaleFactor=SCALE)
    sizes = []
    for side in QUERY_SIDES:
        s = side / max(h0, w0)  # up or down: small queries get enough keypoints, big ones stay cheap
        g = cv2.resize(g0, (max(1, round(w0 * s)), max(1, round(h0 * s))),
                       interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
        kps, desc = orb.detectAndCompute(g, None)
        if desc is not None and kps:
            order = np.argsort([-k.response for k in kps], kind="stable")
            pts = np.array([kps[i].pt for i in order], np.float32) * (QUERY_SIDES[0] / side)
            sizes.append((pts, desc[order]))
    shape = (round(h0 * QUERY_SIDES[0] / max(h0, w0)), round(w0 * QUERY_SIDES[0] / max(h0, w0)))
    if not sizes:
        return *_empty(), shape
    rank = [(k, n) for n, (p, _) in enumerate(sizes) for k in range(len(p))]
    rank.sort()
    pts = np.array([sizes[n][0][k] for k, n in rank], np.float32)
    return pts, np.array([sizes[n][1][k] for k, n in rank], np.uint8), shape


def _verified(src: np.ndarray, dst: np.ndarray, qshape: tuple[int, int], *, min_inliers: int, spread: float) -> int:
    """Inliers of the query -> frame matches (points [K, 2] each) under one turn + scale + shift (RANSAC, 5 px),
    or 0 when fewer than min_inliers, when their bounding box covers less than `spread` of the query's area,
    or when the picture would be under 16 px on screen. A similarity, not a homography: a picture on screen is
    seen nearly face on, and the 4 degrees of freedom leave the generic corners of a different picture (an
    ellipse's rim, a box's corner) little room to line up; the spread keeps one shared shape from passing
    (measured: different pictures made of the same kinds of shapes line up 9-15 corners within at most 4 % of
    the query; the picture itself, 6 % or more in 97 % of the frames showing it)."""
    a, mask = cv2.estimateAffinePartial2D(src.reshape(-1, 1, 2), dst.reshape(-1, 1, 2), method=cv2.RANSAC,
                                          ransacReprojThreshold=5.0)
    if a is None or mask is None or int(mask.sum()) < min_inliers:
        return 0
    inl = src[mask.ravel() > 0]
    span = (inl.max(axis=0) - inl.min(axis=0)) / np.array(qshape[::-1], dtype=np.float64)
    if span[0] * span[1] < spread or min(qshape) * float(np.hypot(a[0, 0], a[1, 0])) < 16:
        return 0
    return int(mask.sum())


def match_scores(query: tuple[np.ndarray, np.ndarray, tuple[int, int]], feats: OrbFeatures, *, ratio: float = 0.8,
                 min_inliers: int = 9, spread: float = 0.06, n_first: int = 150, radius: int = 48) -> np.ndarray:
    """Region-level match of a query picture against every frame. -> [N] float in [0, 1].

    Per frame: ORB descriptors matched (2-NN Hamming, Lowe ratio test, kept only when the two keypoints are
    each other's nearest neighbour), then verified (`_verified`: a similarity, spread over the query);
    score = verified inliers / query keypoints, 0 when not verified. Only frames where min_inliers of the
    query's `n_first` first keypoints (every size) have a descriptor within `radius` bits (OrbFeatures.shortlist, one
    FAISS binary search over the whole video) are verified.
    """
    qpts, qdesc, qshape = query
    out = np.zeros(len(feats), dtype=np.float64)
    if len(qdesc) < min_inliers:
        return out
    bf = cv2.BFMatcher(cv2.NORM_HAMMING)
    for i in feats.shortlist(qdesc[:n_first], radius=radius, need=min_inliers):
        pts, desc = feats.frame(int(i))
        if len(desc) < min_inliers:
            continue
        pairs = bf.knnMatch(qdesc, desc, k=2)
        back = {m.queryIdx: m.trainIdx for m in bf.match(desc, qdesc)}  # frame keypoint -> its nearest query keypoint
        good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < ratio * p[1].distance
                and back.get(p[0].trainIdx) == p[0].queryIdx]  # mutual nearest neighbours only
        if len(good) < min_inliers:
            continue
        inliers = _verified(qpts[[m.queryIdx for m in good]], pts[[m.trainIdx for m in good]], qshape,
                            min_inliers=min_inliers, spread=spread)
        out[i] = inliers / len(qdesc)
    return out
