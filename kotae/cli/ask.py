"""``kotae ask`` and ``kotae chat``: answers with citations, in the question's language.

Exit codes: 0 answered, 1 no evidence (nothing the asker may read answers it), 2 bad
input or settings, 3 the generator failed (unreachable, timeout, unknown model, context
overflow). Errors are one line, in the question's language. The note that no generator is
configured is shown once per knowledge base and language (`--notice`: every time).
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from kotae.answer import Answer, AskOptions, Turn, answer_question, templates
from kotae.backends.generators import Generator, create_generator
from kotae.cli.common import JsonOption, KbOption, console, err_console, fail, print_json
from kotae.config import CONFIG_FILE, Settings, load_settings
from kotae.errors import KotaeError, localized
from kotae.index.catalog import database_errors
from kotae.kb import Access, KnowledgeBase, find_kb_dir
from kotae.messages import t, ui_language
from kotae.text.language import detect_language

AsOption = Annotated[
    str | None,
    typer.Option("--as", metavar="USER", help="Ask as this user (see `kotae users`)."),
]
GroupsOption = Annotated[
    str | None,
    typer.Option("--groups", metavar="GROUPS", help="Ask as a member of these groups (a,b)."),
]
AllOption = Annotated[bool, typer.Option("--all", help="Administrator: read every document.")]
GeneratorOption = Annotated[
    str | None,
    typer.Option(
        "--generator",
        metavar="BACKEND",
        help="Generator backend (openai, llamacpp, transformers), overriding [generator] "
        "backend; 'none' = extractive answers.",
    ),
]
ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model", metavar="NAME", help="Model name (openai) overriding [generator] model."
    ),
]
BaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        metavar="URL",
        help="OpenAI-compatible server URL, e.g. http://127.0.0.1:8000/v1.",
    ),
]
NoticeOption = Annotated[
    bool,
    typer.Option(
        "--notice",
        help="Always show the note that no generator is configured (otherwise it is shown "
        "once per knowledge base and language).",
    ),
]
SourcesOption = Annotated[
    int | None,
    typer.Option(
        "-k", "--top", "--sources", min=1, max=50, metavar="N", help="Chunks given as sources."
    ),
]


NOTICE_SHOWN_KEY = "notice_no_generator_shown"


def register(app: typer.Typer) -> None:
    app.command()(ask)
    app.command()(chat)


def settings_for(
    kb: str | None,
    generator: str | None = None,
    model: str | None = None,
    base_url: str | None = None,
) -> tuple[Path, Settings]:
    """The knowledge base's folder and its settings with the command-line overrides."""
    path = find_kb_dir(kb)
    overrides: dict[str, Any] = {}
    if generator is not None:
        overrides["backend"] = "" if generator == "none" else generator
    if model is not None:
        overrides["model"] = model
    if base_url is not None:
        overrides["base_url"] = base_url
    extra = {"generator": overrides} if overrides else {}
    return path, load_settings(path / CONFIG_FILE, **extra)


def configured_generator(settings: Settings) -> Generator | None:
    """The ``[generator]`` backend, or ``None`` when none is configured."""
    if not settings.generator.backend:
        return None
    from kotae.privacy.outgoing import protect

    generator = create_generator(settings.generator.backend, settings.generator.options())
    return protect(generator, settings)


def _access(base: KnowledgeBase, as_user: str | None, groups: str | None, all_: bool) -> Access:
    if sum(x is not None and x is not False for x in (as_user, groups, all_)) > 1:
        fail(t("one_access_option"))
    group_list = [g.strip() for g in (groups or "").split(",") if g.strip()]
    return base.access_for(user=as_user, groups=group_list, everything=all_)


def ask(
    question: Annotated[
        str, typer.Argument(metavar="QUESTION", help="The question, in Japanese or English.")
    ],
    as_user: AsOption = None,
    groups: GroupsOption = None,
    everything: AllOption = False,
    stream: Annotated[
        bool, typer.Option("--stream", help="Print the answer as it is generated.")
    ] = False,
    json_out: JsonOption = False,
    sources: SourcesOption = None,
    generator: GeneratorOption = None,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
    notice: NoticeOption = False,
    kb: KbOption = None,
) -> None:
    """Answer a question from the documents, with citations [1][2].

    With a [generator] configured the model writes the answer; without one, kotae shows
    the best evidence sentences. Exit code 1 when nothing you may read answers it.

    Examples:

      kotae ask "出張の宿泊費の上限はいくら？"

      kotae ask "What is the API rate limit?" --as yamada --stream

      KOTAE_GENERATOR__BACKEND=openai KOTAE_GENERATOR__BASE_URL=http://127.0.0.1:11434/v1
      KOTAE_GENERATOR__MODEL=qwen2.5:7b-instruct kotae ask "有給休暇は何日？"
    """
    if stream and json_out:
        fail(t("stream_or_json"))
    language = detect_language(question)
    try:
        path, settings = settings_for(kb, generator, model, base_url)
        with KnowledgeBase(path, settings) as base:
            access = _access(base, as_user, groups, everything)
            backend = configured_generator(settings)
            streamed = stream and backend is not None
            options = AskOptions(sources=sources, on_token=_print_token if streamed else None)
            try:
                answer = answer_question(base, question, access, backend, options)
            finally:
                if backend is not None:
                    backend.close()
            shown = None if json_out else notice_to_show(base, answer, always=notice)
    except KotaeError as exc:
        fail(localized(exc, language), code=exc.exit_code, language=language)
    if json_out:
        print_json(answer.to_dict())
    else:
        print_answer(answer, streamed=streamed, notice=shown)
    if answer.status == "no_evidence":
        raise typer.Exit(1)


def _print_token(piece: str) -> None:
    sys.stdout.write(piece)
    sys.stdout.flush()


def notice_to_show(base: KnowledgeBase, answer: Answer, *, always: bool = False) -> str | None:
    """The answer's notice for a person: the one that no generator is configured only the
    first time in a knowledge base and language (recorded in the catalog's meta), or
    ``always``; any other notice (citations to check) every time."""
    if not answer.notice or always or answer.notice != templates(answer.language)["no_generator"]:
        return answer.notice
    key = f"{NOTICE_SHOWN_KEY}.{answer.language}"
    try:
        if base.catalog.get_meta(key) is not None:
            return None
        base.catalog.set_meta(key, "1")
    except database_errors():  # a read-only knowledge base: show it rather than fail
        pass
    return answer.notice


def print_answer(answer: Answer, *, streamed: bool = False, notice: str | None = None) -> None:
    """The answer, its sources and ``notice``, for a person."""
    if streamed:
        sys.stdout.write("\n")
    else:
        console.print(escape(answer.text))
    if answer.citations:
        console.print()
        console.print("出典:" if answer.language == "ja" else "Sources:")
        for c in answer.citations:
            where = f" ({escape(c.location)})" if c.location else ""
            console.print(f"  [{c.number}] {escape(c.title)}{where}  [dim]{escape(c.source)}[/dim]")
    if notice:
        err_console.print(f"[dim]{escape(notice)}[/dim]")


def chat(
    as_user: AsOption = None,
    groups: GroupsOption = None,
    everything: AllOption = False,
    sources: SourcesOption = None,
    generator: GeneratorOption = None,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
    notice: NoticeOption = False,
    json_out: Annotated[
        bool, typer.Option("--json", help="One JSON answer per line (JSON Lines).")
    ] = False,
    kb: KbOption = None,
) -> None:
    """Multi-turn questions: a follow-up (「それの期限は？」) is rewritten into a standalone
    question before retrieval, shown as "→ ..." before the answer. One question per line
    on stdin; /help lists the commands, /reset forgets the conversation, /quit (or /exit,
    Ctrl-D) ends it.

    Example: kotae chat --as yamada
    """
    try:
        path, settings = settings_for(kb, generator, model, base_url)
        base = KnowledgeBase(path, settings)
    except KotaeError as exc:
        fail(localized(exc, ui_language()), code=exc.exit_code)
    interactive = sys.stdin.isatty()
    with base:
        access = _access(base, as_user, groups, everything)
        backend = configured_generator(settings)
        history: list[Turn] = []
        session = uuid.uuid4().hex
        try:
            while True:
                line = _read_line(interactive)
                if line is None or line.strip() in {"/exit", "/quit"}:
                    break
                question = line.strip()
                if not question:
                    continue
                if question == "/reset":
                    history, session = [], uuid.uuid4().hex
                    continue
                if question in {"/help", "/?"}:
                    console.print(CHAT_HELP)
                    continue
                answer = _chat_turn(base, question, access, backend, history, session, sources)
                if answer is None:
                    continue
                history.append(Turn(answer.question, answer.query, answer.text))
                if json_out:
                    sys.stdout.write(_json_line(answer.to_dict()))
                    sys.stdout.flush()
                else:
                    if answer.query.strip() != answer.question.strip():
                        console.print(f"[dim]→ {escape(answer.query)}[/dim]")
                    print_answer(answer, notice=notice_to_show(base, answer, always=notice))
                    console.print()
        finally:
            if backend is not None:
                backend.close()


CHAT_HELP = (
    "/help  this list (このヘルプ)\n"
    "/reset forget the conversation (会話をリセット)\n"
    "/quit  end the chat, also /exit or Ctrl-D (終了)\n"
    "A follow-up question is rewritten into a standalone one, shown as → ... "
    "(続きの質問は単独の質問に書き換えて表示します)"
)


def _chat_turn(
    base: KnowledgeBase,
    question: str,
    access: Access,
    backend: Generator | None,
    history: list[Turn],
    session: str,
    sources: int | None,
) -> Answer | None:
    options = AskOptions(sources=sources, history=history, session=session, kind="chat")
    try:
        return answer_question(base, question, access, backend, options)
    except KotaeError as exc:
        language = detect_language(question)
        first = " ".join(localized(exc, language).split())
        print(t("error_prefix", language) + first, file=sys.stderr)
        return None


def _read_line(interactive: bool) -> str | None:
    try:
        return input("> ") if interactive else (sys.stdin.readline() or None)
    except EOFError:
        return None


def _json_line(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False) + "\n"
