"""The ElevenLabs fake: text to speech, music, sound effects, the voice changer, audio isolation, voice design,
voices with instant clones, and dubbing jobs."""

from mediagen.sandbox.elevenlabs.fake import SANDBOX_KEY, ElevenLabsFake
from mediagen.sandbox.elevenlabs.inputs import BLOCK_MARKER, FAIL_MARKER, NEVER_FINISH_MARKER, QUOTA_MARKER
from mediagen.sandbox.elevenlabs.state import DubbingJob, ElevenLabsState, StoredVoice, VoicePreview

__all__ = [
    "BLOCK_MARKER",
    "FAIL_MARKER",
    "NEVER_FINISH_MARKER",
    "QUOTA_MARKER",
    "SANDBOX_KEY",
    "DubbingJob",
    "ElevenLabsFake",
    "ElevenLabsState",
    "StoredVoice",
    "VoicePreview",
]
