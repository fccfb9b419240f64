"""The document store: documents, sections, chunks with their keyword terms and dense vector,
sentence units with theirs (pgvector, HNSW over cosine distance), and the store's meta
(store id, committed generation).

``vector(384)``, not ``halfvec``: the pgvector in the ``pgserver`` wheel is 0.6.2 and halfvec
arrived in 0.7.0. 384 is the dimension of both shipped embedding models.

Revision ID: s0001
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "s0001"
down_revision = None
branch_labels = None
depends_on = None

DDL = """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE store_meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE store_documents (
    doc_id text PRIMARY KEY,
    source_path text NOT NULL UNIQUE,
    content_hash text NOT NULL,
    title text NOT NULL,
    language text NOT NULL,
    kind text NOT NULL,
    published text,
    publisher text,
    translation_of text,
    page_count integer,
    text text NOT NULL,
    ingested_at text NOT NULL
);
CREATE TABLE store_sections (
    doc_id text NOT NULL REFERENCES store_documents(doc_id) ON DELETE CASCADE,
    seq integer NOT NULL,
    heading text NOT NULL,
    start integer NOT NULL,
    "end" integer NOT NULL,
    page integer,
    PRIMARY KEY (doc_id, seq)
);
CREATE TABLE store_chunks (
    chunk_id text PRIMARY KEY,
    doc_id text NOT NULL REFERENCES store_documents(doc_id) ON DELETE CASCADE,
    seq integer NOT NULL,
    start integer NOT NULL,
    "end" integer NOT NULL,
    section text,
    page integer,
    language text NOT NULL,
    tokens integer NOT NULL,
    text_hash text NOT NULL,
    lex_language text NOT NULL,
    terms tsvector NOT NULL,
    embedding vector(384) NOT NULL
);
CREATE INDEX store_chunks_doc ON store_chunks (doc_id);
CREATE INDEX store_chunks_hash ON store_chunks (text_hash);
CREATE INDEX store_chunks_terms ON store_chunks USING gin (terms);
CREATE INDEX store_chunks_embedding ON store_chunks USING hnsw (embedding vector_cosine_ops);
CREATE TABLE store_units (
    chunk_id text NOT NULL REFERENCES store_chunks(chunk_id) ON DELETE CASCADE,
    seq integer NOT NULL,
    start integer NOT NULL,
    "end" integer NOT NULL,
    embedding vector(384) NOT NULL,
    PRIMARY KEY (chunk_id, seq)
);
CREATE INDEX store_units_embedding ON store_units USING hnsw (embedding vector_cosine_ops);
"""


def upgrade() -> None:
    for statement in DDL.split(";"):
        if statement.strip():
            op.execute(statement)


def downgrade() -> None:
    for table in ("store_units", "store_chunks", "store_sections", "store_documents", "store_meta"):
        op.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
