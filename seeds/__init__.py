"""The seed corpus, its labels, the labeled training examples and the default configuration (data)."""
