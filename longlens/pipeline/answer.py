"""`longlens answer`: a resumable multiple-choice run, `ask` per question over many videos.

question file (VideoMME, LVBench, LongVideoBench or ours) → `AnswerTask` per video group, run by the batch
machinery of pipeline.batch (resume, engines, error rows, Ctrl-C, summary JSON beside the output). Each row:
{"id", "video", "question", "choice" (the letter, None when the reply names no option), "answer" (the raw
reply), "answerer", "evidence" [{"time", "score", "text", "kind"}], "status", "elapsed_s"}, or an error row.
Score it with `longlens eval --qa` (longlens.eval.qa).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from longlens.core.registry import ENGINES
from longlens.pipeline.batch import JobHook, VideoTask, run_batch
from longlens.pipeline.config import AskConfig
from longlens.pipeline.jobs import Job, read_questions
from longlens.retrieval import RetrievalConfig, Retriever


@dataclass
class AnswerTask(VideoTask):
    """Answers one video's questions with `ask`; the models are loaded once per worker."""

    ask_config: AskConfig = field(default_factory=AskConfig)
    layout: str = "videomme"  # the benchmark whose multiple-choice prompt the VLM gets (longlens.lvlm.LAYOUTS)

    def setup(self):
        from longlens.pipeline.ask import vlm_for  # the VLM's libraries: in the workers only

        vlm = vlm_for(self.ask_config)
        # "auto" without a VLM answers extractively: said once here, not tried again for every question
        how = self.ask_config if vlm is not None else replace(self.ask_config, answerer="extractive")
        return Retriever(self.config), vlm, how

    def retriever(self, state) -> Retriever:
        return state[0]

    def item(self, state, index, job: Job) -> dict:
        from longlens.pipeline.ask import answer_json, ask

        retriever, vlm, how = state
        ans = ask(job.video, job.query, options=list(job.options) or None, layout=self.layout, retriever=retriever,
                  vlm=vlm, ask_config=how)
        return {"question": job.query, **answer_json(ans)}


def answer_batch(
    input: str | Path,
    output: str | Path,
    *,
    engine: str = ENGINES.default,
    workers: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    format: str = "auto",
    video_dir: str | Path | None = None,
    ray_address: str | None = None,
    config: RetrievalConfig | None = None,
    ask_config: AskConfig | None = None,
    on_job: JobHook | None = None,
) -> dict:
    """Answer every question of `input` and write one row per id to `output`; returns the summary.

    format: core.registry.QA_FORMATS or "auto" (see jobs.read_questions); the VLM gets that benchmark's prompt
    (ours: VideoMME's). ask_config: how `ask` answers (answerer, frames, selector, model, ...); config: the
    retrieval configuration; workers: as `ground_batch`, but one by default when a VLM may answer (each worker
    loads its own); engine, resume, overwrite, ray_address, on_job: as `ground_batch`.
    """
    ENGINES.check(engine)
    how = ask_config or AskConfig()
    if workers is None and how.answerer != "extractive":
        workers = 1  # each worker loads its own VLM: one unless asked for more
    jobs, bad_rows, format = read_questions(input, format=format, video_dir=video_dir)
    task = AnswerTask(config=config or RetrievalConfig(), on_job=on_job, ask_config=how,
                      layout="videomme" if format == "longlens" else format)
    return run_batch(task, jobs, bad_rows, input, output, engine=engine, workers=workers, resume=resume,
                     overwrite=overwrite, ray_address=ray_address, desc="answering", unit="question")
