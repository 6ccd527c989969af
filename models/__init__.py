"""Model adapters (parser, translators, scorers, hosted API) and the local model store.

Heavy libraries (torch, transformers, spacy, openai) are imported inside the adapter
that needs them, never at package import, so the CLI's --help stays instant.
"""
