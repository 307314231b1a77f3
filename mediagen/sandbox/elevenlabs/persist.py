"""Voices, voice-design previews and dubbing jobs to and from record files, so sandboxes sharing a state_dir (in
this process or another) see the same account. No media is stored: it is drawn again from the record."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import cattrs
from cattrs.errors import BaseValidationError

from mediagen.sandbox.elevenlabs.state import DubbingJob, StoredVoice, VoicePreview
from mediagen.sandbox.faults import Fault
from mediagen.sandbox.records import Record, RecordStore

log = logging.getLogger("mediagen.sandbox")
T = TypeVar("T")

VOICES = "voices"
PREVIEWS = "previews"
DUBBINGS = "dubbings"

_converter = cattrs.Converter()
_converter.register_unstructure_hook(Fault, str)
_converter.register_structure_hook(Fault, lambda value, _: Fault.parse(str(value)))


class ElevenLabsRecords:
    """The ElevenLabs fake's records under `state_dir/elevenlabs/`."""

    def __init__(self, store: RecordStore) -> None:
        self.store = store

    def voices(self) -> list[StoredVoice]:
        """Every stored voice, oldest first."""
        found = [v for v in (self.load_voice(i) for i in self.store.ids(VOICES)) if v is not None]
        return sorted(found, key=lambda v: (v.created_at_unix or 0, v.voice_id))

    def load_voice(self, voice_id: str) -> StoredVoice | None:
        return self._load(VOICES, voice_id, StoredVoice)

    def save_voice(self, voice: StoredVoice) -> None:
        self.store.save(VOICES, voice.voice_id, _data(voice))

    def delete_voice(self, voice_id: str) -> None:
        self.store.delete(VOICES, voice_id)

    def load_preview(self, generated_voice_id: str) -> VoicePreview | None:
        return self._load(PREVIEWS, generated_voice_id, VoicePreview)

    def save_preview(self, preview: VoicePreview) -> None:
        self.store.save(PREVIEWS, preview.generated_voice_id, _data(preview))

    def load_dubbing(self, dubbing_id: str) -> DubbingJob | None:
        return self._load(DUBBINGS, dubbing_id, DubbingJob)

    def save_dubbing(self, job: DubbingJob) -> None:
        self.store.save(DUBBINGS, job.dubbing_id, _data(job))

    def delete_dubbing(self, dubbing_id: str) -> None:
        self.store.delete(DUBBINGS, dubbing_id)

    def _load(self, kind: str, record_id: str, cls: type[T]) -> T | None:
        """A record structured as `cls`; one that does not hold what its kind needs is ignored (and logged)."""
        return _read(self.store.load(kind, record_id), kind, record_id, lambda r: _converter.structure(r.data, cls))


def _data(value: object) -> dict[str, Any]:
    data: dict[str, Any] = _converter.unstructure(value)
    return data


def _read(record: Record | None, kind: str, record_id: str, read: Callable[[Record], T]) -> T | None:
    if record is None:
        return None
    try:
        return read(record)
    except (BaseValidationError, KeyError, TypeError, ValueError, AttributeError) as exc:
        log.warning("sandbox record %s/%s is not a valid %s record, ignoring it: %s", kind, record_id, kind, exc)
        return None
