"""The review page: read the matches, label them with one click, see how the model is doing."""

from .security import WebConfigError
from .server import create_app

__all__ = ["create_app", "WebConfigError"]
