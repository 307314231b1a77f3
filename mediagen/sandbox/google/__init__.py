"""The Google fake: Gemini generateContent, Vertex Imagen predict and Veo operations on one loopback server."""

from mediagen.sandbox.google.fake import GoogleFake
from mediagen.sandbox.google.state import GoogleState, ReceivedRequest, VeoOperation, VideoFile
from mediagen.sandbox.google.wire import GoogleApiError

__all__ = ["GoogleApiError", "GoogleFake", "GoogleState", "ReceivedRequest", "VeoOperation", "VideoFile"]
