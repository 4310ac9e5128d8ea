"""The small public API is pinned: adding or removing a name is a deliberate change."""

from __future__ import annotations

import kotae


def test_public_api_is_pinned() -> None:
    assert sorted(kotae.__all__) == [
        "Access",
        "Answer",
        "IngestReport",
        "KnowledgeBase",
        "KotaeError",
        "Record",
        "SearchResult",
        "answer_question",
        "init_kb",
        "open_kb",
    ]
    for name in kotae.__all__:
        assert getattr(kotae, name) is not None


def test_import_has_no_heavy_side_effects() -> None:
    import subprocess
    import sys

    code = (
        "import sys, kotae; heavy = {'torch', 'sentence_transformers', 'tantivy', 'sudachipy', "
        "'pypdf', 'docx', 'httpx'} & set(sys.modules); print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
