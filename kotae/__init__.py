"""kotae (答え): Japanese-first search and answers over internal documents.

>>> import kotae
>>> kb = kotae.init_kb(Path("./kb"))
>>> kb.ingest([Path("./docs")])
>>> kb.search("出張の宿泊費の上限", k=5)
>>> kotae.answer_question(kb, "出張の宿泊費の上限は？", kb.access_for(user="sato")).text
"""

from kotae.answer import Answer, answer_question
from kotae.errors import KotaeError
from kotae.ingest import IngestReport, Record
from kotae.kb import Access, KnowledgeBase, init_kb, open_kb
from kotae.retrieval import SearchResult

__all__ = [
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
