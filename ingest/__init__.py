"""Ingestion: files -> structured text -> chunks -> embeddings -> Chroma + BM25 store."""
