"""Small files in each benchmark's own layout (field names and shapes as the official files have them)."""
from __future__ import annotations

import json

# moment_detr's README example row, cut short (QVHighlights submission)
QVH_PRED = [
    {"qid": 2579, "query": "A girl and her mother cooked while talking with each other on facetime.",
     "vid": "NUsG9BgSes0_210.0_360.0", "pred_relevant_windows": [[0, 70, 0.9986], [78, 146, 0.4138], [0, 146, 0.0444]],
     "pred_saliency_scores": [-0.2452, -0.3779, -0.4746, -0.4744]},
    {"qid": 5071, "query": "A man in a blue shirt talks.", "vid": "abc_60.0_210.0",
     "pred_relevant_windows": [[10, 20, 0.7]], "pred_saliency_scores": [0.1, 0.9, 0.3]},
]
CHARADES_PRED = "3MSZA 24.3 30.4##person turn a light on.\n3MSZA 0.0 5.0##person turn a light on.\n" \
                "AO8RW 0.0 6.9##a person is putting a book on a shelf.\n"
TIMECHAT_PRED = {"0": {"timestamp": [[20.8, 30.0]], "query": "person turn a light on.", "vid": "3MSZA.mp4"},
                 "1": {"timestamp": [], "query": "a person is putting a book on a shelf.", "vid": "AO8RW.mp4"},
                 "2": {"timestamp": [0.0, 5.5], "query": "person opens a door.", "vid": "SJ51G.mp4"}}
ANET_PRED = {"version": "VERSION 1.0", "external_data": {"used": False, "details": ""},
             "results": {"v_QOlSCBRmfWY": [
                 {"sentence": "A young woman is seen standing in a room.", "timestamp": [0.0, 20.1], "score": 0.2},
                 {"sentence": "A young woman is seen standing in a room.", "timestamp": [0.8, 19.5], "score": 0.9},
                 {"sentence": "She then begins dancing.", "timestamp": [17.0, 60.5], "score": 0.5}]}}
OURS_PRED = [{"id": "q1", "video": "demo.mp4", "query": "the red door", "status": "ok",
              "segments": [[12.0, 18.5, 0.83], [40.0, 44.0, 0.41]]},
             {"id": "q2", "video": "demo.mp4", "query": "a dog", "status": "error", "error": "VideoDecodeError: hung"}]


def jsonl(rows) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


SAMPLES = {
    "qvhighlights": ("pred.jsonl", jsonl(QVH_PRED)),
    "charades": ("pred.txt", CHARADES_PRED),
    "timechat": ("pred.json", json.dumps(TIMECHAT_PRED, indent=4)),  # pretty-printed, as TimeChat writes it
    "activitynet": ("pred.json", json.dumps(ANET_PRED)),  # one line
    "longlens": ("pred.jsonl", jsonl(OURS_PRED)),
}


# QVHighlights ground truth (val layout): windows, and 3 annotators' 0-4 scores for the relevant 2-s clips
QVH_GT = [
    {"qid": 1, "query": "a short moment", "duration": 10, "vid": "vidA_0.0_150.0", "relevant_windows": [[0, 10]],
     "relevant_clip_ids": [0, 1], "saliency_scores": [[4, 4, 4], [2, 2, 2]]},
    {"qid": 2, "query": "a long moment", "duration": 150, "vid": "vidB_0.0_150.0", "relevant_windows": [[20, 60]],
     "relevant_clip_ids": [10, 11, 12], "saliency_scores": [[1, 3, 2], [0, 4, 4], [2, 2, 0]]},
    {"qid": 3, "query": "a middle moment", "duration": 150, "vid": "vidC_0.0_150.0", "relevant_windows": [[10, 24]],
     "relevant_clip_ids": [5, 6, 7], "saliency_scores": [[3, 3, 3], [3, 3, 3], [3, 3, 3]]},
]
QVH_GT_PRED = [
    {"qid": 1, "query": "a short moment", "vid": "vidA_0.0_150.0", "pred_relevant_windows": [[0, 10, 0.9]],
     "pred_saliency_scores": [0.9, 0.1, 0.5, 0.0, 0.0]},
    {"qid": 2, "query": "a long moment", "vid": "vidB_0.0_150.0", "pred_relevant_windows": [[100, 110, 0.5]],
     "pred_saliency_scores": [0.0] * 75},
    {"qid": 3, "query": "a middle moment", "vid": "vidC_0.0_150.0", "pred_relevant_windows": [[10, 24, 1.0]],
     "pred_saliency_scores": [0.0] * 6 + [1.0] + [0.0] * 68},
]
CHARADES_GT = "3MSZA 24.3 30.4##person turn a light on.\nAO8RW 0.0 6.9##a person is putting a book on a shelf.\n"
ANET_GT = {"v_QOlSCBRmfWY": {"duration": 82.73, "timestamps": [[0.83, 19.86], [17.37, 60.81]],
                             "sentences": ["A young woman is seen standing in a room.", " She then begins dancing."]}}
