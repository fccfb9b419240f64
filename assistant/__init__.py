"""The assistant: hybrid retrieval over the ingested store and grounded, cited answers."""
