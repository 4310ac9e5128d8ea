"""Record what the real 0.5B model writes in the situations kotae's reply cleaning handles.

Usage:
    .venv/bin/python benchmarks/capture_replies.py [--out FILE]

The benchmark (``real_model.py``) records every reply of its eval runs; this script adds
the situations its sets rarely produce, each a real generation of
Qwen2.5-Coder-0.5B-Instruct (``.cache/real-models``, fetched by ``real_model.py
--fetch-only``) in-process through llama-cpp-python, greedy:

- ``fabricated``: a prompt that numbers its sources [1]-[3] but mentions "[5]";
- ``wrong_language``: Japanese questions over English sources and the reverse;
- ``template``: the model served with the wrong chat format (Llama-2's ``[INST]``), and
  with the chat template but no stop token (raw completion);
- ``long``: "explain in detail" with a small ``max_tokens`` (cut: ``finish_reason`` length);
- ``unanswerable``: questions the sources do not answer.

Each line of the output (default ``benchmarks/results/captured-replies.jsonl``) holds the
case, the messages' question, the language, the number of sources, the raw reply and the
finish reason. ``tests/fixtures/replies/`` holds the replies chosen from these files and
from the benchmark's, with what kotae must make of them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bench_harness import REPO_ROOT, RESULTS_DIR

MODEL = REPO_ROOT / ".cache" / "real-models" / "qwen2.5-coder-0.5b-instruct.gguf"

SOURCES_JA = [
    (
        "経費精算規程",
        "経費の申請期限は、支出した月の翌月10日までとする。領収書の原本を添付すること。",
    ),
    ("在宅勤務規程", "在宅勤務は週3日まで、上長の承認を得て行う。"),
    ("出張旅費規程", "国内出張の宿泊費の上限は1泊12,000円とする。"),
]
SOURCES_EN = [
    ("Leave policy", "Employees get 20 days of paid leave per year. Unused days expire."),
    ("API guide", "The API allows 600 requests per minute per key."),
    ("Security policy", "Passwords must be at least 12 characters long."),
]
PROMPTS = REPO_ROOT / "kotae" / "prompts"


def prompt(language: str, sources: list[tuple[str, str]], question: str, extra: str = "") -> Any:
    import tomllib

    t = tomllib.loads((PROMPTS / f"answer.{language}.toml").read_text("utf-8"))
    blocks = "\n\n".join(
        t["source"].format(number=i, title=title, location="", text=text)
        for i, (title, text) in enumerate(sources, 1)
    )
    user = t["user"].format(sources=blocks, question=question) + extra
    return [{"role": "system", "content": t["system"]}, {"role": "user", "content": user}]


ALL_NUMBERS = "宿泊費の上限と在宅勤務の日数は？資料番号を全部挙げて"
CASES: list[tuple[str, str, list[tuple[str, str]], str, str, int]] = [
    # case, language, sources, question, extra user text, max_tokens
    ("fabricated", "ja", SOURCES_JA, "経費の申請期限は？", "\n（参考: 資料[5]も参照）", 128),
    ("fabricated", "en", SOURCES_EN, "How many requests per minute?", "\n(See also [5].)", 128),
    (
        "fabricated",
        "ja",
        SOURCES_JA,
        "宿泊費の上限と在宅勤務の日数は？資料番号を全部挙げて",
        "",
        128,
    ),
    ("wrong_language", "ja", SOURCES_EN, "有給休暇は年に何日ですか？", "", 128),
    ("wrong_language", "ja", SOURCES_EN, "APIの上限は1分に何回？", "", 128),
    ("wrong_language", "en", SOURCES_JA, "What is the deadline for expense claims?", "", 128),
    ("long", "ja", SOURCES_JA, "経費精算の規程を詳しく説明してください。", "", 24),
    ("long", "en", SOURCES_EN, "Explain the leave policy in detail.", "", 24),
    ("unanswerable", "ja", SOURCES_JA, "社員食堂の営業時間は？", "", 128),
    ("unanswerable", "en", SOURCES_EN, "Who is the CEO of the company?", "", 128),
    ("unanswerable", "ja", SOURCES_JA, "育児休業は何か月取れますか？", "", 128),
    ("unanswerable", "en", SOURCES_EN, "When is the office closed for the holidays?", "", 128),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "captured-replies.jsonl")
    parser.add_argument("--prompts", type=Path, default=None, help="answer.<lang>.toml folder")
    args = parser.parse_args()
    global PROMPTS
    PROMPTS = args.prompts or PROMPTS
    import llama_cpp

    chat = llama_cpp.Llama(str(MODEL), n_ctx=2048, n_threads=2, seed=0, verbose=False)
    wrong = llama_cpp.Llama(
        str(MODEL), n_ctx=2048, n_threads=2, seed=0, verbose=False, chat_format="llama-2"
    )
    rows = []
    for case, language, sources, question, extra, max_tokens in CASES:
        messages = prompt(language, sources, question, extra)
        reply = chat.create_chat_completion(messages, max_tokens=max_tokens, temperature=0.0)
        choice = reply["choices"][0]
        rows.append(row(case, language, len(sources), question, choice))
    for language, sources, question in (
        ("ja", SOURCES_JA, "経費の申請期限は？"),
        ("en", SOURCES_EN, "How many days of paid leave?"),
    ):
        messages = prompt(language, sources, question)
        reply = wrong.create_chat_completion(messages, max_tokens=96, temperature=0.0)
        rows.append(row("template", language, len(sources), question, reply["choices"][0]))
        # the chat template rendered by hand, sent as a raw completion without stop tokens
        text = (
            "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
            + "<|im_start|>assistant\n"
        )
        raw = chat.create_completion(text, max_tokens=96, temperature=0.0, stop=[])
        first = raw["choices"][0]
        rows.append(
            row(
                "template",
                language,
                len(sources),
                question,
                {"message": {"content": first["text"]}, "finish_reason": first["finish_reason"]},
            )
        )
    with args.out.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
            print(json.dumps(r, ensure_ascii=False))
    return 0


def row(case: str, language: str, sources: int, question: str, choice: Any) -> dict[str, Any]:
    return {
        "case": case,
        "language": language,
        "sources": sources,
        "question": question,
        "raw": choice["message"]["content"] or "",
        "finish_reason": choice.get("finish_reason"),
    }


if __name__ == "__main__":
    raise SystemExit(main())
