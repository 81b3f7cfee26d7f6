"""The weight-free picture channel: ORB keypoints per frame, a query picture matched region by region and
verified by a RANSAC homography (image.match_scores). Picture queries only. Stored part "image": points,
descriptors, offsets (image.OrbFeatures)."""
from __future__ import annotations

from longlens.retrieval.channels import Channel
from longlens.retrieval.image import OrbExtractor, OrbFeatures, match_scores, prepare_query


class ImageChannel(Channel):
    name = "image"
    queries = ("image",)
    kind = "picture"

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
