"""The LLM engine: prompts, the litellm client, output parsing, streaming, and the checks
that keep a model's quotes and words honest."""
