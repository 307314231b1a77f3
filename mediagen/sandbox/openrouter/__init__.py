"""The OpenRouter fake: chat completions with image output (data URLs or expiring URLs) and the models list."""

from mediagen.sandbox.openrouter.fake import SANDBOX_KEY, OpenRouterFake
from mediagen.sandbox.openrouter.state import OpenRouterState, ReceivedRequest, ServedImage

__all__ = ["SANDBOX_KEY", "OpenRouterFake", "OpenRouterState", "ReceivedRequest", "ServedImage"]
