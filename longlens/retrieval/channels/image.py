"""The weight-free picture channel: ORB keypoints per frame spread over a grid, a query picture matched region by
region and verified geometrically (orb.match_scores). Picture queries only. Stored part "image": points,
descriptors, offsets (orb.OrbFeatures)."""
from __future__ import annotations

import numpy as np

from longlens.core.types import Segment
from longlens.retrieval.channels import Channel
from longlens.retrieval.ground import evidence_span
from longlens.retrieval.orb import OrbExtractor, OrbFeatures, match_scores, prepare_query


class ImageChannel(Channel):
    name = "image"
    queries = ("image",)
    kind = "picture"
    nothing = "no frame shows the picture (no verified match)"

    def key(self) -> str:
        return OrbExtractor(self.config.orb_features).key()

    def encoder(self):
        return _Encoder(OrbExtractor(self.config.orb_features))

    def attach(self, index, arrays, texts) -> None:
        index.orb = OrbFeatures(arrays["points"], arrays["descriptors"], arrays["offsets"])

    def embed(self, query, extra):
        return prepare_query(query.image)

    def score(self, index, query, vector):
        return {"image": match_scores(vector, index.orb)}

    def support(self, curve) -> np.ndarray:
        """Rows where the picture is verified (a match that passed orb.match_scores' geometry check)."""
        return curve.channels["image"] > 0

    def edges(self, index, query, vector, curve, segment):
        """A segment the picture leads spans the run of frames where it is verified, around its best match."""
        sup = self.support(curve)
        rows = np.flatnonzero(sup & (curve.times >= segment.start) & (curve.times <= segment.end))
        if not len(rows):
            return segment
        peak = int(rows[np.argmax(curve.channels["image"][rows])])
        return Segment(*evidence_span(curve.times, sup, peak, duration=index.duration), segment.score)


class _Encoder:
    def __init__(self, orb: OrbExtractor) -> None:
        self.orb = orb
        self.rows: list = []

    def add(self, frames) -> None:
        self.rows += [self.orb.detect(f.image) for f in frames]

    def finish(self):
        f = self.orb.build(self.rows)
        return {"points": f.points, "descriptors": f.descriptors, "offsets": f.offsets}, {}


CHANNEL = ImageChannel
