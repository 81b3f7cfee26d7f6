"""Weight-free image channel: a small global descriptor (colour layout + grey thumbnail) for change
detection and diversity, and region-level query-by-image with ORB keypoints verified by a RANSAC homography
(finds a picture that fills only part of a frame: a poster, a logo, a photo on a screen)."""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from longlens.core.errors import InputError

DESCRIPTOR_DIM = 4 * 4 * 3 + 8 * 8  # colour layout + grey thumbnail


def gray(image: np.ndarray) -> np.ndarray:
    """RGB [H, W, 3] uint8 -> grey [H, W] uint8 (a grey image passes through)."""
    if image.ndim == 2:
        return image
    return cv2.cvtColor(np.ascontiguousarray(image[:, :, :3]), cv2.COLOR_RGB2GRAY)


def thumbnail(image: np.ndarray) -> np.ndarray:
    """Grey 32 x 32 thumbnail (area-averaged), the unit of change detection. -> [32, 32] float32."""
    return cv2.resize(gray(image), (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)


def change(a: np.ndarray, b: np.ndarray) -> float:
    """How much two thumbnails differ: mean absolute difference of the worst 8 x 8 block (0-255).

    Block-wise so that a small caption appearing is not averaged away over the whole frame."""
    d = np.abs(a - b).reshape(4, 8, 4, 8).mean(axis=(1, 3))
    return float(d.max())


EDGE_WIDTH, EDGE_CELL = 320, 16  # text-edge maps: frames resized to 320 px wide, compared in 16 x 16 px cells


def text_edges(image: np.ndarray, *, contrast: int = 40) -> np.ndarray:
    """Sharp-edge map of a frame, where text lives: [h, 320] bool, h a multiple of 16.

    A pixel is an edge when its 3x3 morphological gradient exceeds `contrast` grey levels. Smooth scenery
    (even panning) has almost none; letters have them densely."""
    g = gray(image)
    h = max(EDGE_CELL, round(g.shape[0] * EDGE_WIDTH / g.shape[1]) // EDGE_CELL * EDGE_CELL)
    g = cv2.resize(g, (EDGE_WIDTH, h), interpolation=cv2.INTER_AREA)
    return cv2.morphologyEx(g, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > contrast


def text_change(a: np.ndarray, b: np.ndarray, *, density: float = 0.3, min_edges: int = 20) -> float:
    """How much the text-like parts of two frames differ, 0-1 (text_edges maps of the same shape).

    Only cells dense with edges in either frame count (text, not a moving ball or a panning background);
    per cell, the share of edge pixels present in one frame but not the other; the worst cell wins."""
    h, w = a.shape
    ca, cb = (e.reshape(h // EDGE_CELL, EDGE_CELL, w // EDGE_CELL, EDGE_CELL) for e in (a, b))
    texty = (ca.mean(axis=(1, 3)) > density) | (cb.mean(axis=(1, 3)) > density)  # [h/16, w/16]
    diff, union = (ca ^ cb).sum(axis=(1, 3)), (ca | cb).sum(axis=(1, 3))
    frac = np.where(texty & (union >= min_edges), diff / np.maximum(union, 1), 0.0)
    return float(frac.max()) if frac.size else 0.0


def descriptor(image: np.ndarray) -> np.ndarray:
    """Global weight-free descriptor: 4x4 colour layout + 8x8 grey thumbnail, each mean-centred,
    concatenated and L2-normalised. [H, W, 3] uint8 -> [112] float32."""
    rgb = np.ascontiguousarray(image[:, :, :3]) if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    col = cv2.resize(rgb, (4, 4), interpolation=cv2.INTER_AREA).astype(np.float32).reshape(-1)
    grey = cv2.resize(gray(rgb), (8, 8), interpolation=cv2.INTER_AREA).astype(np.float32).reshape(-1)
    parts = []
    for v in (col, grey):
        v = v - v.mean()
        parts.append(v / max(float(np.linalg.norm(v)), 1e-6))
    out = np.concatenate(parts)
    return out / np.sqrt(2.0)


@dataclass
class OrbFeatures:
    """ORB keypoints of every indexed frame, stored flat.

    points [M, 2] float32 (x, y pixels in the decoded frame); descriptors [M, 32] uint8;
    offsets [N + 1] int64: frame i owns rows offsets[i]:offsets[i + 1]."""

    points: np.ndarray
    descriptors: np.ndarray
    offsets: np.ndarray
    _binary: object = field(default=None, init=False, repr=False, compare=False)  # faiss.IndexBinaryFlat, built on first query

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
    """ORB on grey frames; `detect(image) -> (points [M, 2] float32, descriptors [M, 32] uint8)`."""

    def __init__(self, n_features: int = 600) -> None:
        self.n_features = n_features
        self._orb = cv2.ORB_create(nfeatures=n_features, fastThreshold=10)

    def key(self) -> str:
        return f"orb-{self.n_features}-fast10-cv{cv2.__version__}"

    def detect(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        kps, desc = self._orb.detectAndCompute(gray(image), None)
        if desc is None or not kps:
            return np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8)
        return np.array([k.pt for k in kps], dtype=np.float32), desc

    def build(self, per_frame: list[tuple[np.ndarray, np.ndarray]]) -> OrbFeatures:
        counts = [len(p) for p, _ in per_frame]
        offsets = np.zeros(len(per_frame) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum(counts)
        pts = np.concatenate([p for p, _ in per_frame]) if per_frame else np.zeros((0, 2), np.float32)
        desc = np.concatenate([d for _, d in per_frame]) if per_frame else np.zeros((0, 32), np.uint8)
        return OrbFeatures(pts.astype(np.float32), desc.astype(np.uint8), offsets)


def prepare_query(image: np.ndarray, *, max_side: int = 320, n_features: int = 500) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """Query picture -> (points [Q, 2], descriptors [Q, 32], (h, w) after resizing its long side to max_side)."""
    if image.ndim not in (2, 3) or min(image.shape[:2]) < 16:
        raise InputError(f"query image must be at least 16 x 16 pixels, got shape {image.shape}")
    g = gray(image)
    scale = max_side / max(g.shape)  # up or down: small queries get enough keypoints, big ones stay cheap
    g = cv2.resize(g, (max(1, round(g.shape[1] * scale)), max(1, round(g.shape[0] * scale))), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    orb = cv2.ORB_create(nfeatures=n_features, fastThreshold=10)  # same descriptor geometry as frames
    kps, desc = orb.detectAndCompute(g, None)
    if desc is None or not kps:
        return np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8), g.shape[:2]
    order = np.argsort([-k.response for k in kps], kind="stable")  # strongest first (the prefilter uses those)
    return np.array([kps[i].pt for i in order], dtype=np.float32), desc[order], g.shape[:2]


def _plausible(h: np.ndarray, qshape: tuple[int, int]) -> bool:
    """A homography maps the query's corners to a convex, non-degenerate quadrilateral."""
    qh, qw = qshape
    corners = np.array([[0, 0], [qw, 0], [qw, qh], [0, qh]], dtype=np.float32).reshape(-1, 1, 2)
    try:
        quad = cv2.perspectiveTransform(corners, h).reshape(-1, 2)
    except cv2.error:
        return False
    if not np.all(np.isfinite(quad)) or not cv2.isContourConvex(quad.astype(np.float32)):
        return False
    return cv2.contourArea(quad) >= 64.0  # at least ~8 x 8 pixels


def match_scores(query: tuple[np.ndarray, np.ndarray, tuple[int, int]], feats: OrbFeatures, *, ratio: float = 0.8,
                 min_inliers: int = 8, n_first: int = 150) -> np.ndarray:
    """Region-level match of a query picture against every frame. -> [N] float in [0, 1].

    Per frame: ORB descriptors matched (2-NN Hamming, Lowe ratio test, kept only when the two keypoints are
    each other's nearest neighbour: without that, the generic corners of a different picture made of similar
    shapes reach 25 verified inliers), then a RANSAC homography (5 px);
    score = verified inliers / query keypoints, 0 when fewer than min_inliers or the geometry is implausible.
    Only frames where min_inliers of the query's `n_first` strongest keypoints have a close descriptor
    (OrbFeatures.shortlist, one FAISS binary search over the whole video) are verified.
    """
    qpts, qdesc, qshape = query
    out = np.zeros(len(feats), dtype=np.float64)
    if len(qdesc) < min_inliers:
        return out
    bf = cv2.BFMatcher(cv2.NORM_HAMMING)
    for i in feats.shortlist(qdesc[:n_first], need=min_inliers):
        pts, desc = feats.frame(int(i))
        if len(desc) < min_inliers:
            continue
        pairs = bf.knnMatch(qdesc, desc, k=2)
        back = {m.queryIdx: m.trainIdx for m in bf.match(desc, qdesc)}  # frame keypoint -> its nearest query keypoint
        good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < ratio * p[1].distance
                and back.get(p[0].trainIdx) == p[0].queryIdx]  # mutual nearest neighbours only
        if len(good) < min_inliers:
            continue
        src = qpts[[m.queryIdx for m in good]].reshape(-1, 1, 2)
        dst = pts[[m.trainIdx for m in good]].reshape(-1, 1, 2)
        h, mask = cv2.findHomography(src, dst, cv2.RANSAC, 5.0)
        if h is None or mask is None:
            continue
        inliers = int(mask.sum())
        if inliers >= min_inliers and _plausible(h, qshape):
            out[i] = inliers / len(qdesc)
    return out
