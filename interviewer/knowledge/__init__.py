"""The knowledge base: study material ingested into Chroma, retrieved by vectors + BM25."""
