"""The ML: a multi-label topic classifier over short news items, its training and its model files."""
