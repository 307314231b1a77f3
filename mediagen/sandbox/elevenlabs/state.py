"""Server-side state of the ElevenLabs fake: what was asked, the account's voices, voice-design previews and dubbing
jobs (written through to the state_dir when there is one, so other sandboxes see them)."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

import attrs

from mediagen.sandbox.elevenlabs import catalog
from mediagen.sandbox.faults import Fault
from mediagen.sandbox.openai.state import ReceivedRequest
from mediagen.sandbox.settings import SandboxSettings

if TYPE_CHECKING:
    from mediagen.sandbox.elevenlabs.persist import ElevenLabsRecords

__all__ = ["DubbingJob", "ElevenLabsState", "ReceivedRequest", "StoredVoice", "VoicePreview"]


@attrs.frozen
class StoredVoice:
    """A voice of the account: premade, cloned (IVC) or generated (voice design)."""

    voice_id: str
    name: str
    category: str  # premade | cloned | generated
    description: str | None = None
    labels: dict[str, str] = attrs.field(factory=dict)
    created_at_unix: int | None = None
    samples: list[dict[str, Any]] = attrs.field(factory=list)
    settings: dict[str, Any] = attrs.field(factory=lambda: dict(catalog.DEFAULT_VOICE_SETTINGS))

    @classmethod
    def premade(cls, voice: catalog.PremadeVoice) -> StoredVoice:
        labels = {
            "accent": voice.accent,
            "description": voice.description,
            "age": voice.age,
            "gender": voice.gender,
            "use_case": voice.use_case,
        }
        return cls(voice.voice_id, voice.name, "premade", None, labels)

    @property
    def premade_voice(self) -> bool:
        return self.category == "premade"

    def to_json(self, *, with_settings: bool = True) -> dict[str, Any]:
        """The Voice object, with fields the SDK's Voice type has (no preview_url: the sandbox serves none)."""
        return {
            "voice_id": self.voice_id,
            "name": self.name,
            "samples": self.samples or None,
            "category": self.category,
            "labels": dict(self.labels),
            "description": self.description,
            "preview_url": None,
            "available_for_tiers": [],
            "settings": dict(self.settings) if with_settings else None,
            "high_quality_base_model_ids": ["eleven_v3", "eleven_multilingual_v2", "eleven_flash_v2_5"],
            "is_owner": not self.premade_voice,
            "is_legacy": False,
            "is_mixed": False,
            "created_at_unix": self.created_at_unix,
        }


@attrs.frozen
class VoicePreview:
    """A voice-design preview, kept so POST /v1/text-to-voice can save it as a voice by its generated_voice_id."""

    generated_voice_id: str
    voice_description: str
    created_at_unix: int


@attrs.define
class DubbingJob:
    """A dubbing advancing dubbing -> dubbed (or failed) one status poll at a time."""

    dubbing_id: str
    name: str
    source_language: str
    target_language: str
    created_at: str  # ISO 8601, as the API sends it
    content_type: str  # of the input, which the dubbed file keeps: video/mp4 or audio/mpeg
    duration: float
    width: int = 0
    height: int = 0
    editable: bool = False
    fault: Fault | None = None
    never_finishes: bool = False  # the sandbox:never-finish marker
    fails: bool = False  # the sandbox:fail-job marker
    status: str = "dubbing"
    polls: int = 0
    error: str | None = None

    @property
    def is_video(self) -> bool:
        return self.content_type.startswith("video/")

    def polls_needed(self, settings: SandboxSettings) -> int:
        if self.fault is not None and self.fault.name == "slow_poll":
            return max(1, int(self.fault.number("polls", 10)))
        return settings.job_polls

    def advance(self, settings: SandboxSettings) -> None:
        """One status poll's worth of progress, shaped by the job's fault or marker."""
        if self.status in ("dubbed", "failed"):
            return
        self.polls += 1
        needed = self.polls_needed(settings)
        fault = self.fault
        if self.fails or (
            fault is not None and fault.name == "job_fails" and self.polls >= int(fault.number("at", needed))
        ):
            code = fault.text("code", "dubbing_failed") if fault is not None else "dubbing_failed"
            self.status = "failed"
            self.error = _FAILURES.get(code, f"Dubbing failed ({code}).")
            return
        if self.never_finishes or (fault is not None and fault.name == "job_never_finishes"):
            return
        if self.polls >= needed:
            self.status = "dubbed"

    def to_json(self) -> dict[str, Any]:
        """The DubbingMetadataResponse: only fields the SDK's type has."""
        return {
            "dubbing_id": self.dubbing_id,
            "name": self.name,
            "status": self.status,
            "source_language": self.source_language,
            "target_languages": [self.target_language],
            "editable": self.editable,
            "created_at": self.created_at,
            "media_metadata": {"content_type": self.content_type, "duration": self.duration},
            "error": self.error,
        }


_FAILURES = {
    "dubbing_failed": "Dubbing failed: the audio could not be processed. Please try again.",
    "no_speech": "Dubbing failed: no speech was detected in the source.",
}


def iso_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")


@attrs.define
class ElevenLabsState:
    """Everything the ElevenLabs fake remembers; tests read it to check what an adapter really sent and which voices
    the account has (e.g. that a voice clone left none behind)."""

    requests: list[ReceivedRequest] = attrs.field(factory=list)
    created_voices: dict[str, StoredVoice] = attrs.field(factory=dict)
    previews: dict[str, VoicePreview] = attrs.field(factory=dict)
    dubbings: dict[str, DubbingJob] = attrs.field(factory=dict)
    #: Where voices, previews and dubbing jobs are also kept when the sandbox has a state_dir (None: memory only).
    records: ElevenLabsRecords | None = attrs.field(default=None, repr=False)

    @property
    def premade_voices(self) -> list[StoredVoice]:
        return [StoredVoice.premade(v) for v in catalog.PREMADE_VOICES]

    def own_voices(self) -> list[StoredVoice]:
        """The voices this account created (clones and designs), oldest first; with a state_dir, every sandbox's."""
        if self.records is not None:
            return self.records.voices()
        return sorted(self.created_voices.values(), key=lambda v: (v.created_at_unix or 0, v.voice_id))

    def voices(self) -> list[StoredVoice]:
        """Every voice of the account: the premade ones, then its own."""
        return [*self.premade_voices, *self.own_voices()]

    def voice(self, voice_id: str) -> StoredVoice | None:
        for premade in catalog.PREMADE_VOICES:
            if premade.voice_id == voice_id:
                return StoredVoice.premade(premade)
        if self.records is not None:  # read through: another sandbox may have deleted it
            return self.records.load_voice(voice_id)
        return self.created_voices.get(voice_id)

    def keep_voice(self, voice: StoredVoice) -> None:
        self.created_voices[voice.voice_id] = voice
        if self.records is not None:
            self.records.save_voice(voice)

    def forget_voice(self, voice_id: str) -> None:
        self.created_voices.pop(voice_id, None)
        if self.records is not None:
            self.records.delete_voice(voice_id)

    def preview(self, generated_voice_id: str) -> VoicePreview | None:
        found = self.previews.get(generated_voice_id)
        if found is None and self.records is not None:
            found = self.records.load_preview(generated_voice_id)
        return found

    def keep_preview(self, preview: VoicePreview) -> None:
        self.previews[preview.generated_voice_id] = preview
        if self.records is not None:
            self.records.save_preview(preview)

    def dubbing(self, dubbing_id: str) -> DubbingJob | None:
        """A dubbing job: this sandbox's, else one any sandbox kept in the shared state_dir."""
        found = self.dubbings.get(dubbing_id)
        if found is None and self.records is not None:
            found = self.records.load_dubbing(dubbing_id)
            if found is not None:
                self.dubbings[dubbing_id] = found
        return found

    def keep_dubbing(self, job: DubbingJob) -> None:
        """Remember a new or changed job (written through to the state_dir, so other sandboxes see its status)."""
        self.dubbings[job.dubbing_id] = job
        if self.records is not None:
            self.records.save_dubbing(job)

    def forget_dubbing(self, dubbing_id: str) -> None:
        self.dubbings.pop(dubbing_id, None)
        if self.records is not None:
            self.records.delete_dubbing(dubbing_id)

    def requests_to(self, path: str, method: str | None = None) -> list[ReceivedRequest]:
        """Requests whose path is `path` (and method, when given), oldest first."""
        return [r for r in self.requests if r.path == path and (method is None or r.method == method)]
