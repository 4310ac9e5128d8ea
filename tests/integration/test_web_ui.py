"""The web UI in a real browser: Debian's chromium driven by Playwright against a real
``kotae serve``.

Two servers, each over its own copy of the integration knowledge base with an admin, an
editor of ``sales`` and a reader without it (local passwords):

- ``web``: the generator is the tiny random Llama behind llama-cpp-python's server. Its
  answers stream for real, but are gibberish: kotae falls back to an evidence sentence with
  a citation only when a reply has no content at all (kotae/answer.py), and a 24-token
  gibberish reply usually has some, so these answers seldom carry a ``[n]``;
- ``fake_web``: the scripted ``fake`` generator (kotae.testing: the first line of source
  [1], cited ``[1]``), for what needs a citation to click, the screenshots and the phone.

The tests on ``web`` skip where the tiny model cannot be built (``tiny_gguf``: no llama_cpp,
gguf or converter), the others need only chromium and Playwright.
Screenshots of every page in both languages land in the test's ``screenshots`` folder (its
path is printed): CI keeps them as artifacts. ``KOTAE_UPDATE_UI_IMAGES=1`` also refreshes
the two screenshots of docs/ui.md under docs/images/.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kotae.kb import KnowledgeBase
from tests.integration.webui import (
    FAKE_MODEL,
    PASSWORD,
    TIMEOUT_MS,
    TINY_ENV,
    Web,
    ask,
    finished_answer,
    horizontal_overflow,
    launch,
    login,
    require_browser,
    serve_web,
    shot,
    tiny_model,
    upload,
)

pytestmark = pytest.mark.integration

DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
TITLES = {"経費精算規程", "在宅勤務規程", "Leave policy", "出張旅費規程"}
# uploaded by the editor eto into "sales": the reader sato must never see a trace of it
SECRET_NAME = "新製品計画.md"
SECRET_TITLE = "新製品計画メモ"
SECRET_TEXT = f"# {SECRET_TITLE}\n\n新製品の開発名は青嵐で、発売は来年四月を予定している。\n"
SECRET_WORDS = (SECRET_TITLE, "来年四月", "新製品計画")
PAGES = ("search", "chat", "history", "documents", "admin")


@pytest.fixture(scope="module")
def web(
    built_kb: Path, llama_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Web]:
    root = tmp_path_factory.mktemp("web-ui")
    yield from serve_web(built_kb, root, tiny_model(llama_server), TINY_ENV)


@pytest.fixture(scope="module")
def fake_web(built_kb: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    yield from serve_web(built_kb, tmp_path_factory.mktemp("web-ui-fake"), FAKE_MODEL)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    binary = require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright, binary)
        try:
            yield chromium
        finally:
            chromium.close()


def new_page(browser: Any, lang: str = "ja", **options: Any) -> Any:
    context = browser.new_context(
        locale="ja-JP" if lang == "ja" else "en-US",
        viewport=options.pop("viewport", {"width": 1280, "height": 900}),
        **options,
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.errors = []  # script errors: a test fails on any
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    return page


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    folder = tmp_path / "screenshots"
    folder.mkdir()
    print(f"\nscreenshots: {folder}")
    return folder


@pytest.fixture(scope="module")
def secret(web: Web) -> str:
    """:data:`SECRET_NAME`, uploaded by the editor into ``sales``."""
    upload(web, "eto", SECRET_NAME, SECRET_TEXT, "sales")
    return SECRET_TITLE


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def close(page: Any) -> None:
    assert page.errors == [], page.errors
    page.context.close()


# -- the whole flow -----------------------------------------------------------------------------
def test_the_flow_of_an_editor_in_japanese_then_english(
    web: Web, browser: Any, tmp_path: Path, screenshots: Path
) -> None:
    """Log in with a password, upload into a group, search, ask (streamed) in Japanese, a
    follow-up, feedback, English, log out: with the tiny model."""
    page = new_page(browser, "ja")
    page.goto(f"{web.url}/")
    expect(page.locator("h1")).to_have_text("ログイン")
    login(page, web, "eto")
    menu = page.locator("nav.menu")
    expect(menu.get_by_role("link", name="文書")).to_be_visible()
    expect(menu.get_by_role("link", name="管理")).to_have_count(0)  # an editor is no admin

    # upload a document into the editor's group: progress, then listed
    menu.get_by_role("link", name="文書").click()
    document = tmp_path / "出張旅費規程.md"
    document.write_text("# 出張旅費規程\n\n出張の宿泊費の上限は一泊一万二千円とする。\n", "utf-8")
    form = page.locator("form.upload-form")
    form.locator("input[type=file]").set_input_files(str(document))
    form.get_by_label("sales").check()
    form.get_by_role("button", name="アップロード").click()
    expect(form.locator("progress")).to_be_visible()
    expect(form.get_by_text("取り込みが完了しました")).to_be_visible()
    row = page.locator("table.documents tr", has_text="出張旅費規程")
    expect(row).to_contain_text("sales")

    # search: the hit, its location, its highlighted snippet; the passage opens
    menu.get_by_role("link", name="検索").click()
    page.get_by_label("検索語").fill("宿泊費の上限")
    page.get_by_label("検索語").press("Enter")
    hit = page.locator("li.hit").first
    expect(hit.locator(".hit-title")).to_have_text("出張旅費規程")
    expect(hit.locator(".hit-location")).to_contain_text("出張旅費規程")  # its heading
    expect(hit.locator("mark").first).to_be_visible()
    hit.get_by_role("button", name="箇所を開く").click()
    expect(page.locator("dialog .passage-text")).to_contain_text("一万二千円")
    page.keyboard.press("Escape")
    expect(page.locator("dialog")).to_have_count(0)
    # the filters: one document, one format
    page.get_by_label("文書", exact=True).select_option(label="経費精算規程")
    page.get_by_role("button", name="検索", exact=True).click()
    expect(page.locator("li.hit .hit-title")).to_have_text(["経費精算規程"])
    page.get_by_label("文書", exact=True).select_option(label="すべて")
    page.get_by_label("形式").select_option("md")
    page.get_by_label("検索語").fill("規程")
    page.get_by_role("button", name="検索", exact=True).click()
    expect(page.locator("li.hit").first).to_be_visible()

    # ask in Japanese: the answer streams in, then ends with its status and log id
    menu.get_by_role("link", name="質問").click()
    answer = ask(page, "出張の宿泊費の上限はいくら？")
    expect(answer).to_have_attribute("data-status", "ok")
    assert int(answer.get_attribute("data-tokens") or 0) > 0  # it came as token events
    assert answer.locator(".answer-text").inner_text().strip()
    expect(answer.locator(".answer-text")).to_contain_text("一万二千円")
    assert open_a_citation(page, answer)  # the tiny model's "[1]", shown with its evidence

    # feedback on the answer, with a comment
    answer.get_by_role("button", name="役に立った").click()
    answer.get_by_label("コメント（任意）").fill("出典がわかりやすい")
    answer.get_by_role("button", name="フィードバックを送信").click()
    expect(answer.get_by_text("フィードバックを受け付けました")).to_be_visible()
    with KnowledgeBase(web.path, sync=False) as kb:
        rows = [(r["rating"], r["comment"]) for r in kb.catalog.feedback_rows()]
    assert (1, "出典がわかりやすい") in rows

    # a follow-up in the same conversation (one chat session in the log), then English
    ask(page, "その規程の名前は？")
    expect(page.locator(".turn")).to_have_count(2)
    with KnowledgeBase(web.path, sync=False) as kb:
        sessions = {e["session"] for e in web_log(kb) if e["kind"] == "chat"}
    assert len(sessions) == 1 and None not in sessions, sessions
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Ask the documents")
    answer = ask(page, "How many days of paid leave do employees get?")
    assert answer.locator(".answer-text").inner_text().strip()
    assert open_a_citation(page, answer)
    shot(page, screenshots, "chat-tiny-model-en")

    # the language is remembered; logging out ends the session
    page.reload()
    expect(page.locator("h1")).to_have_text("Ask the documents")
    page.get_by_role("button", name="Log out").click()
    expect(page.locator("h1")).to_have_text("Log in")
    assert page.evaluate("async () => (await fetch('/ui/session')).status") == 401
    page.goto(f"{web.url}/#/documents")
    expect(page).to_have_url(f"{web.url}/#/login")
    close(page)


def web_log(kb: KnowledgeBase) -> list[dict[str, Any]]:
    from kotae.querylog import list_entries

    return [e.to_dict() for e in list_entries(kb.catalog, limit=100)]


def open_a_citation(page: Any, answer: Any) -> bool:
    """Click the answer's first citation, if it has one: its passage opens."""
    cites = answer.locator(".cite")
    if cites.count() == 0:
        return False
    cites.first.click()
    dialog = page.locator("dialog")
    expect(dialog.locator(".passage-title")).to_have_text(re.compile("|".join(TITLES)))
    assert dialog.locator(".passage-text").inner_text().strip()
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    return True


# -- citations ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("lang", "question", "title", "where"),
    [
        ("ja", "経費の申請期限はいつ？", "経費精算規程", "経費精算規程"),
        ("en", "How many days of paid leave do employees get?", "Leave policy", "Leave policy"),
    ],
    ids=["ja", "en"],
)
def test_a_citation_opens_its_passage(
    fake_web: Web, browser: Any, screenshots: Path, lang: str, question: str, title: str, where: str
) -> None:
    page = new_page(browser, lang)
    login(page, fake_web, "sato")
    page.locator("nav.menu a[href='#/chat']").click()
    answer = ask(page, question)
    expect(answer).to_have_attribute("data-status", "ok")
    cite = answer.locator(".answer-text .cite").first
    expect(cite).to_have_text("[1]")
    expect(answer.locator(".sources li").first).to_contain_text(title)
    cite.click()
    dialog = page.locator("dialog")
    expect(dialog.locator(".passage-title")).to_have_text(title)
    expect(dialog.locator(".passage-location")).to_contain_text(where)
    expect(dialog.locator(".passage-text")).not_to_be_empty()
    shot(page, screenshots, f"chat-citation-{lang}")
    if lang == "ja" and os.environ.get("KOTAE_UPDATE_UI_IMAGES"):
        page.set_viewport_size({"width": 900, "height": 600})
        DOCS_IMAGES.mkdir(exist_ok=True)
        page.screenshot(path=str(DOCS_IMAGES / "chat-ja.png"))
    page.keyboard.press("Escape")
    expect(page.locator("dialog")).to_have_count(0)
    expect(cite).to_be_focused()  # focus goes back to the citation
    close(page)


def test_dont_know_is_shown_as_such(fake_web: Web, browser: Any) -> None:
    page = new_page(browser, "ja")
    login(page, fake_web, "sato")
    page.locator("nav.menu a[href='#/chat']").click()
    answer = ask(page, "量子コンピュータの冷却方式を比較してください")
    expect(answer).to_have_attribute("data-status", "no_evidence")
    expect(answer).to_have_class(re.compile("no-evidence"))
    expect(answer.locator(".badge")).to_contain_text("わかりません")
    expect(answer.locator(".cite")).to_have_count(0)
    close(page)


# -- access: a reader without the group sees no trace of the editor's document -----------------
def test_a_reader_sees_no_trace_of_a_document_of_another_group(
    web: Web, browser: Any, secret: str
) -> None:
    editor = new_page(browser, "ja")  # the editor finds it, so the reader's misses are real
    login(editor, web, "eto")
    editor.get_by_label("検索語").fill("新製品の開発名")
    editor.get_by_label("検索語").press("Enter")
    expect(editor.locator("li.hit .hit-title").first).to_have_text(secret)
    close(editor)

    page = new_page(browser, "ja")
    login(page, web, "sato")
    menu = page.locator("nav.menu")
    expect(menu.get_by_role("link", name="文書")).to_have_count(0)
    expect(menu.get_by_role("link", name="管理")).to_have_count(0)
    page.goto(f"{web.url}/#/documents")  # typed by hand: back to search
    expect(page).to_have_url(f"{web.url}/#/search")
    # the document list (the search filter), the search results
    expect(page.locator("select[name=document] option")).not_to_have_count(1)
    options = page.locator("select[name=document] option").all_inner_texts()
    assert secret not in options and "Leave policy" in options, options
    page.get_by_label("検索語").fill("新製品の開発名")
    page.get_by_label("検索語").press("Enter")
    expect(page.locator(".results .count")).to_be_visible()
    no_trace(page)
    # chat: neither the answer nor its sources
    menu.get_by_role("link", name="質問").click()
    ask(page, "新製品の開発名と発売時期は？")
    no_trace(page)
    # the log: the reader's own entries, the others' redacted (no text, no documents)
    menu.get_by_role("link", name="履歴").click()
    rows = page.locator("table.log tbody tr")
    expect(rows.filter(has_text="新製品の開発名と発売時期は？")).to_have_count(1)
    others = rows.filter(has_not=page.locator("td:nth-child(2)", has_text=re.compile("^sato$")))
    for cell in others.locator("td:nth-child(5)").all():
        expect(cell).to_have_text("（非表示）")
    no_trace(page)
    # nor through the API with the reader's cookie
    for route in ("/api/documents", "/api/log?limit=100", "/api/search?q=新製品の開発名"):
        text = page.evaluate("async (r) => await (await fetch(r)).text()", route)
        assert not any(word in text for word in SECRET_WORDS), (route, text[:500])
    close(page)


def no_trace(page: Any) -> None:
    text = page.locator("main").inner_text()
    for word in SECRET_WORDS:
        assert word not in text, (word, text[:1000])


# -- keyboard, phone, screenshots ---------------------------------------------------------------
def test_the_keyboard_alone_asks_a_question(fake_web: Web, browser: Any) -> None:
    page = new_page(browser, "ja")
    page.goto(f"{fake_web.url}/")
    # log in with the keyboard: Tab to the user name, type, Tab, type, Enter
    tab_to(page, "input[name=user]")
    page.keyboard.type("sato")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator("nav.menu")).to_be_visible()
    tab_to(page, "nav.menu a[href='#/chat']")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("文書に質問")
    tab_to(page, "textarea[name=question]")
    page.keyboard.type("経費の申請期限はいつ？")
    page.keyboard.press("Enter")
    answer = finished_answer(page)
    expect(answer).to_have_attribute("data-status", "ok")
    expect(answer.locator(".cite").first).to_be_visible()
    # a citation opens with Enter and closes with Escape; thumbs work with Space
    tab_to(page, ".answer-text .cite")
    page.keyboard.press("Enter")
    expect(page.locator("dialog .passage-text")).to_be_visible()
    page.keyboard.press("Escape")
    tab_to(page, "button.thumb")
    page.keyboard.press("Space")
    expect(page.locator("button.thumb").first).to_have_attribute("aria-pressed", "true")
    close(page)


def tab_to(page: Any, selector: str, limit: int = 40) -> None:
    """Press Tab until ``selector`` has the focus (fails after ``limit`` presses)."""
    target = page.locator(selector).first
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("(el) => el === document.activeElement"):
            outline = target.evaluate("(el) => getComputedStyle(el).outlineStyle")
            assert outline != "none", f"{selector} has no visible focus"
            return
    pytest.fail(f"{selector} not reached with {limit} Tabs")


def test_a_phone_has_no_horizontal_scroll(fake_web: Web, browser: Any, screenshots: Path) -> None:
    page = new_page(
        browser, "ja", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page.goto(f"{fake_web.url}/")
    expect(page.locator("form.login-form").first).to_be_visible()
    assert horizontal_overflow(page) <= 0
    shot(page, screenshots, "phone-login-ja")
    login(page, fake_web, "aoki")
    for name in PAGES:
        page.goto(f"{fake_web.url}/#/{name}")
        expect(page.locator(f"main[data-page^={name}]")).to_be_visible()
        if name == "chat":
            ask(page, "経費の申請期限はいつ？")
        assert horizontal_overflow(page) <= 0, name
        shot(page, screenshots, f"phone-{name}-ja")
    close(page)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_screenshots_of_every_page(
    fake_web: Web, browser: Any, screenshots: Path, lang: str
) -> None:
    page = new_page(browser, lang)
    page.goto(f"{fake_web.url}/")
    expect(page.locator("form.login-form").first).to_be_visible()
    shot(page, screenshots, f"login-{lang}")
    login(page, fake_web, "aoki")
    query = {"ja": "経費の申請期限", "en": "paid leave"}[lang]
    page.locator("input[name=q]").fill(query)
    page.locator("input[name=q]").press("Enter")
    expect(page.locator("li.hit").first).to_be_visible()
    shot(page, screenshots, f"search-{lang}")
    if lang == "en" and os.environ.get("KOTAE_UPDATE_UI_IMAGES"):
        page.set_viewport_size({"width": 900, "height": 600})
        DOCS_IMAGES.mkdir(exist_ok=True)
        page.screenshot(path=str(DOCS_IMAGES / "search-en.png"))
        page.set_viewport_size({"width": 1280, "height": 900})
    page.locator("nav.menu a[href='#/chat']").click()
    answer = ask(page, {"ja": "経費の申請期限はいつ？", "en": "How many days of paid leave?"}[lang])
    answer.locator(".cite").first.click()
    expect(page.locator("dialog .passage-text")).to_be_visible()
    shot(page, screenshots, f"chat-{lang}")
    page.keyboard.press("Escape")
    for name in ("history", "documents", "admin"):
        page.locator(f"nav.menu a[href='#/{name}']").click()
        expect(page.locator(f"main[data-page^={name}]")).to_be_visible()
        shot(page, screenshots, f"{name}-{lang}")
    for tab in ("keys", "log", "report"):
        page.locator(f"nav.tabs a[href='#/admin/{tab}']").click()
        expect(page.locator(f"main[data-page='admin/{tab}']")).to_be_visible()
        shot(page, screenshots, f"admin-{tab}-{lang}")
    close(page)


# -- login and admin details --------------------------------------------------------------------
def test_login_with_a_wrong_password_then_an_api_key(fake_web: Web, browser: Any) -> None:
    page = new_page(browser, "en")
    page.goto(f"{fake_web.url}/")
    expect(page.locator(".sso a")).to_have_count(0)  # no OIDC configured: no SSO button
    form = page.locator("form.login-form").first
    form.locator("input[name=user]").fill("sato")
    form.locator("input[name=password]").fill("not the password at all")
    form.locator("button[type=submit]").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong user name, password or API key")
    keyed = page.locator("form.login-form").nth(1)
    keyed.get_by_label("API key").fill(fake_web.keys["eto"])
    keyed.get_by_role("button", name="Log in with the API key").click()
    expect(page.locator(".top .user")).to_contain_text("eto")
    # the cookie session, not the key, carries the next requests; the CSRF token is sent
    cookies = page.context.cookies()
    assert [c["name"] for c in cookies] == ["kotae_session"], cookies
    assert cookies[0]["httpOnly"] and cookies[0]["sameSite"] == "Strict"
    close(page)


def test_an_admin_creates_a_key_shown_once_and_revokes_it(fake_web: Web, browser: Any) -> None:
    page = new_page(browser, "en")
    login(page, fake_web, "aoki")
    page.locator("nav.menu a[href='#/admin']").click()
    users = page.locator("table.users")
    expect(users.locator("tr[data-user=eto]")).to_contain_text("eto")
    # a new user with a group and a role
    form = page.locator("form.inline-form")
    form.get_by_label("Name").fill("mori")
    form.get_by_label("Role").select_option("editor")
    form.get_by_label("Groups (comma-separated)").fill("sales, legal")
    form.get_by_role("button", name="Save").click()
    expect(users.locator("tr[data-user=mori] input[name=groups]")).to_have_value(
        re.compile("legal")
    )
    page.locator("nav.tabs a[href='#/admin/keys']").click()
    form = page.locator("form.inline-form")
    form.get_by_label("User").select_option("mori")
    form.get_by_label("Key name").fill("laptop")
    form.get_by_role("button", name="Create a key").click()
    secret = page.locator(".new-key input")
    expect(secret).to_have_value(re.compile(r"^kotae_"))
    prefix = secret.input_value().split("_")[1]
    page.get_by_role("button", name="Copy").click()
    expect(page.locator(".new-key .copied")).to_have_text("Copied")
    row = page.locator(f"table.keys tr[data-key='{prefix}']")
    expect(row).to_contain_text("valid")
    row.get_by_role("button", name="Revoke").click()
    page.locator("dialog").get_by_role("button", name="Revoke").click()
    expect(page.locator(f"table.keys tr[data-key='{prefix}']")).to_contain_text("revoked")
    page.reload()  # shown once: gone after a reload
    expect(page.locator(".new-key")).to_have_count(0)
    close(page)


def test_an_editor_deletes_a_document_after_confirming(fake_web: Web, browser: Any) -> None:
    upload(fake_web, "eto", "削除用.md", "# 削除用の文書\n\nこの文書は削除されます。\n", "sales")
    page = new_page(browser, "ja")
    login(page, fake_web, "eto")
    page.locator("nav.menu a[href='#/documents']").click()
    row = page.locator("table.documents tr", has_text="削除用の文書")
    row.get_by_role("button", name="「削除用の文書」を削除").click()
    page.locator("dialog").get_by_role("button", name="キャンセル").click()
    expect(row).to_be_visible()  # cancelled: still there
    row.get_by_role("button", name="「削除用の文書」を削除").click()
    page.locator("dialog").get_by_role("button", name="削除").click()
    expect(page.get_by_text("「削除用の文書」を削除しました")).to_be_visible()
    expect(page.locator("table.documents tr", has_text="削除用の文書")).to_have_count(0)
    close(page)
