"""The knowledge base: documents read into page-true passages, embedded, stored and retrieved.

Nothing here imports a UI; the heavy libraries (torch, sentence-transformers, chromadb) load on first use.
"""
