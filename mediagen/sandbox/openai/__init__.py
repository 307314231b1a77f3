"""The OpenAI fake: Images, Responses with the image_generation tool, Sora videos and speech."""

from mediagen.sandbox.openai.fake import SANDBOX_KEY, OpenAIFake
from mediagen.sandbox.openai.state import GeneratedImage, OpenAIState, ReceivedRequest, StoredResponse, VideoJob

__all__ = [
    "SANDBOX_KEY",
    "GeneratedImage",
    "OpenAIFake",
    "OpenAIState",
    "ReceivedRequest",
    "StoredResponse",
    "VideoJob",
]
