"""The background-information library: L1–L3 prompts, L4 environment variants, L5 documents."""
