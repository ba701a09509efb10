"""The topics of a config that adds none (``config.DEFAULT_TOPICS``), as tests pass them to the functions
that take the config's topics."""

from newswatch.config import DEFAULT_TOPICS

NAMES = tuple(topic.name for topic in DEFAULT_TOPICS)
TITLES = {topic.name: topic.title for topic in DEFAULT_TOPICS}
