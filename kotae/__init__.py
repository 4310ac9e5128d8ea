"""kotae (答え): Japanese-first search and answers over internal documents.

>>> import kotae
>>> kb = kotae.init_kb(Path("./kb"))
>>> kb.ingest([Path("./docs")])
>>> kb.search("出張の宿泊費の上限", k=5)
"""

from kotae.errors import KotaeError
from kotae.ingest import IngestReport, Record
from kotae.kb import Access, KnowledgeBase, init_kb, open_kb
from kotae.retrieval import SearchResult

__all__ = [
    "Access",
    "IngestReport",
    "KnowledgeBase",
    "KotaeError",
    "Record",
    "SearchResult",
    "init_kb",
    "open_kb",
]
