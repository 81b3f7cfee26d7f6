"""Weight-free image measures: a small global descriptor (colour layout + grey thumbnail) for diversity, and the
OCR channel's change gate (`text_changes`: `changed`, `plain_blobs`, `moved_blobs`), where it looks (`regions`,
`busy_boxes`) and text-box looks (`crop_signature`, `same_look`). Picture search (ORB) lives in
longlens.retrieval.orb."""
from __future__ import annotations

import cv2
import numpy as np

DESCRIPTOR_DIM = 4 * 4 * 3 + 8 * 8  # colour layout + grey thumbnail


def gray(image: np.ndarray) -> np.ndarray:
    """RGB [H, W, 3] uint8 -> grey [H, W] uint8 (a grey image passes through)."""
    if image.ndim == 2:
        return image
    return cv2.cvtColor(np.ascontiguousarray(image[:, :, :3]), cv2.COLOR_RGB2GRAY)


GATE_WIDTH = 320  # px: frames are compared at this width for the OCR's change gate


def small_gray(image: np.ndarray) -> np.ndarray:
    """A frame in grey at GATE_WIDTH px wide (area-averaged): [h, 320] uint8, what `changed` compares."""
    g = gray(image)
    h = max(8, round(g.shape[0] * GATE_WIDTH / g.shape[1]))
    return cv2.resize(g, (GATE_WIDTH, h), interpolation=cv2.INTER_AREA)


def changed(a: np.ndarray, b: np.ndarray, *, tol: float, shift: int = 3) -> np.ndarray:
    """Pixels that differ between two grey images of one shape: [h, w] bool.

    A pixel that differs by more than `tol` grey levels still counts as unchanged when it is explained by a
    small shift: some pixel of the other image within `shift` px is within `tol` of it, both ways round, where
    that neighbourhood is smooth (its range under 3 tol). So scenery panning a few pixels between samples and
    compression noise do not count, while a caption appearing or going does, on any background: on a dense
    texture every neighbourhood spans black to white and would "explain" anything, so there only an
    unshifted match counts (busy footage changes everywhere, and is looked at everywhere)."""
    k = np.ones((2 * shift + 1, 2 * shift + 1), np.uint8)
    a, b = cv2.blur(a, (3, 3)), cv2.blur(b, (3, 3))  # compression noise on sharp edges (a caption's) is no change
    x16, y16 = a.astype(np.int16), b.astype(np.int16)
    unexplained = np.zeros(a.shape, dtype=bool)
    for x, y in ((x16, b), (y16, a)):
        hi, lo = cv2.dilate(y, k).astype(np.int16), cv2.erode(y, k).astype(np.int16)
        unexplained |= (x > hi + tol) | (x < lo - tol) | (hi - lo > 3 * tol)
    return (np.abs(x16 - y16) > tol) & unexplained


def plain_blobs(mask: np.ndarray, a: np.ndarray, b: np.ndarray, *, edge: int = 40, erode: int = 2) -> np.ndarray:
    """`mask` (a `changed` map of grey images a, b) without its plain blobs: [h, w] bool.

    A plain blob is a changed part that is mostly thick (most of it survives an erosion by `erode` px) and whose
    thick part holds no sharp edge (3x3 gradient over `edge` grey levels) in either image: a smooth object
    moving (a ball, a face out of focus), never text, whose strokes are thin or sit, sharp, inside a banner.
    What remains is what the text detector must look at."""
    if not mask.any():
        return mask
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    k = np.ones((2 * erode + 1, 2 * erode + 1), np.uint8)
    thick = cv2.erode(mask.astype(np.uint8), k).astype(bool)
    g3 = np.ones((3, 3), np.uint8)
    edges = (cv2.morphologyEx(a, cv2.MORPH_GRADIENT, g3) > edge) | (cv2.morphologyEx(b, cv2.MORPH_GRADIENT, g3) > edge)
    size = np.bincount(labels.ravel(), minlength=n)
    core = np.bincount(labels[thick], minlength=n)
    sharp = np.bincount(labels[thick & edges], minlength=n)
    plain = (core >= 0.5 * size) & (sharp <= 0.02 * np.maximum(core, 1))
    plain[0] = False
    return mask & ~plain[labels]


def moved_blobs(mask: np.ndarray, a: np.ndarray, b: np.ndarray, *, tol: float, reach: int = 16,
                edge: int = 40) -> np.ndarray:
    """`mask` (a `changed` map of grey images a, b) without the changed parts that are something moving: [h, w]
    bool. A part is moving when its sharp pixels (3x3 gradient over `edge` grey levels) in b are found in a
    displaced by up to `reach` px, and its sharp pixels in a are found in b the same way (mean squared difference
    over those pixels alone under tol^2): the ball at its new place was the ball at its old one, a stripe's edge
    panned. Only the sharp pixels are compared: a word appearing on a smooth background has strokes that nothing
    in the previous frame matches, however much plain background surrounds them; and text that goes has strokes
    that nothing in the new frame matches. A part with no sharp pixel in either image is dropped too (it cannot
    be text)."""
    if not mask.any():
        return mask
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    g3 = np.ones((3, 3), np.uint8)
    sharp = [cv2.morphologyEx(x, cv2.MORPH_GRADIENT, g3) > edge for x in (b, a)]
    h, w = mask.shape
    moved = np.zeros(n, dtype=bool)
    for i in range(1, n):
        x, y, bw, bh, _ = stats[i]
        if bw * bh > 0.25 * h * w:  # a large change is looked at whatever it is
            continue
        part = labels[y:y + bh, x:x + bw] == i
        ok = True
        for img, other, edges in ((b, a, sharp[0]), (a, b, sharp[1])):
            keep = (part & edges[y:y + bh, x:x + bw]).astype(np.uint8)
            if not keep.any():
                continue
            x0, y0 = max(0, x - reach), max(0, y - reach)
            area = np.ascontiguousarray(other[y0:min(h, y + bh + reach), x0:min(w, x + bw + reach)])
            tpl = np.ascontiguousarray(img[y:y + bh, x:x + bw])
            sq = cv2.matchTemplate(area.astype(np.float32), tpl.astype(np.float32), cv2.TM_SQDIFF, mask=keep)
            if float(np.nanmin(sq)) / keep.sum() > tol * tol:
                ok = False
                break
        moved[i] = ok
    return mask & ~moved[labels]


def text_changes(a: np.ndarray, b: np.ndarray, *, tol: float) -> np.ndarray:
    """Where text may have appeared, changed or gone between two `small_gray` frames: what `changed` finds, less
    plain blobs and moving things (`plain_blobs`, `moved_blobs`): [h, w] bool. The OCR's change gate."""
    return moved_blobs(plain_blobs(changed(a, b, tol=tol), a, b), a, b, tol=tol)


def regions(mask: np.ndarray, frame_size: tuple[int, int], *, margin: int = 12) -> list[tuple[int, int, int, int]]:
    """Boxes (x0, y0, x1, y1, frame pixels) around the changed parts of a `changed` mask, each grown by `margin`
    px and clipped to the frame (W, H); overlapping boxes merged. Nearby changes join (a word's letters, a
    line's words) because the mask is dilated first."""
    w, h = frame_size
    if not mask.any():
        return []
    sx, sy = w / mask.shape[1], h / mask.shape[0]
    grown = cv2.dilate(mask.astype(np.uint8), np.ones((5, 9), np.uint8))
    n, _, stats, _ = cv2.connectedComponentsWithStats(grown, connectivity=8)
    boxes = [(int(x * sx) - margin, int(y * sy) - margin, int((x + bw) * sx) + margin, int((y + bh) * sy) + margin)
             for x, y, bw, bh, _ in stats[1:n]]
    return merge([(max(0, x0), max(0, y0), min(w, x1), min(h, y1)) for x0, y0, x1, y1 in boxes])


def busy_boxes(g: np.ndarray, *, edge: int = 32, tile: int = 64, min_px: int = 8,
               margin: int = 16) -> list[tuple[int, int, int, int]]:
    """Where a grey frame [H, W] uint8 could show text: boxes (x0, y0, x1, y1, its pixels) over the tiles of
    `tile` px holding at least `min_px` sharp pixels (3x3 gradient over `edge` grey levels), adjacent tiles
    joined, each grown by `margin` px. Text has strokes with edges; a smooth tile shows none and need not go
    through the detector (at 2x, most of its cost on smooth footage). A busy frame is one box, the frame."""
    h, w = g.shape
    sharp = cv2.morphologyEx(g, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > edge
    ny, nx = -(-h // tile), -(-w // tile)
    padded = np.zeros((ny * tile, nx * tile), np.uint8)
    padded[:h, :w] = sharp
    flagged = (padded.reshape(ny, tile, nx, tile).sum(axis=(1, 3)) >= min_px).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(flagged, connectivity=8)
    boxes = [(x * tile - margin, y * tile - margin, (x + bw) * tile + margin, (y + bh) * tile + margin)
             for x, y, bw, bh, _ in stats[1:n]]
    return merge([(max(0, x0), max(0, y0), min(w, x1), min(h, y1)) for x0, y0, x1, y1 in boxes])


def merge(boxes: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Boxes (x0, y0, x1, y1) with every overlapping pair replaced by their union, until none overlap."""
    out = list(boxes)
    joined = True
    while joined:
        joined = False
        for i in range(len(out)):
            for j in range(i + 1, len(out)):
                a, b = out[i], out[j]
                if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                    out[i] = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
                    del out[j]
                    joined = True
                    break
            if joined:
                break
    return out


def crop_signature(g: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """A text box's look, to tell later whether it changed: its grey crop (frame pixels x0:x1, y0:y1) lightly
    blurred so film grain and compression noise do not count: [h, w] float32."""
    x0, y0, x1, y1 = box
    return cv2.GaussianBlur(g[y0:y1, x0:x1], (5, 5), 1.2).astype(np.float32)


def same_look(a: np.ndarray, b: np.ndarray, *, tol: float) -> bool:
    """Whether two `crop_signature`s of one box show the same thing: mean absolute difference <= tol grey
    levels, and no 8-px-wide column strip worse than 3 tol (one letter changing in a long line counts)."""
    if a.shape != b.shape or a.size == 0:
        return False
    d = np.abs(a - b)
    strips = [d[:, i:i + 8].mean() for i in range(0, d.shape[1], 8)]
    return float(d.mean()) <= tol and max(strips) <= 3 * tol


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
