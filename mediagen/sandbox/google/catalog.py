"""What Google's media APIs accept, as the fake enforces it: aspect ratios, sizes, voices, modes, durations,
and the prompt markers that script an outcome."""

from __future__ import annotations

GEMINI_ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
GEMINI_IMAGE_SIZES = {"1K": 1024, "2K": 2048, "4K": 4096}
IMAGEN_SIZES = {  # Imagen's pixel sizes at 1K; 2K doubles them
    "1:1": (1024, 1024),
    "3:4": (896, 1280),
    "4:3": (1280, 896),
    "9:16": (768, 1408),
    "16:9": (1408, 768),
}
VOICES = (
    "Zephyr", "Puck", "Charon", "Kore", "Fenrir", "Leda", "Orus", "Aoede", "Callirrhoe", "Autonoe",
    "Enceladus", "Iapetus", "Umbriel", "Algieba", "Despina", "Erinome", "Algenib", "Rasalgethi",
    "Laomedeia", "Achernar", "Alnilam", "Schedar", "Gacrux", "Pulcherrima", "Achird", "Zubenelgenubi",
    "Vindemiatrix", "Sadachbia", "Sadaltager", "Sulafat",
)  # fmt: skip
EDIT_MODES = (
    "EDIT_MODE_DEFAULT", "EDIT_MODE_INPAINT_REMOVAL", "EDIT_MODE_INPAINT_INSERTION", "EDIT_MODE_OUTPAINT",
    "EDIT_MODE_CONTROLLED_EDITING", "EDIT_MODE_STYLE", "EDIT_MODE_BGSWAP", "EDIT_MODE_PRODUCT_IMAGE",
)  # fmt: skip
MASK_MODES = ("MASK_MODE_DEFAULT", "MASK_MODE_USER_PROVIDED", "MASK_MODE_BACKGROUND", "MASK_MODE_FOREGROUND")
VEO_DURATIONS = (4, 6, 8)
VEO_SIZES = {("16:9", "720p"): (1280, 720), ("9:16", "720p"): (720, 1280)}
VEO_SIZES |= {("16:9", "1080p"): (1920, 1080), ("9:16", "1080p"): (1080, 1920)}
PCM_MIME = "audio/L16;codec=pcm;rate=24000"

BLOCK_PROMPT = "sandbox:block-prompt"
BLOCK_OUTPUT = "sandbox:block-output"
NO_IMAGE = "sandbox:no-image"
NEVER_FINISH = "sandbox:never-finish"
FAIL_JOB = "sandbox:fail-job"

# `:predict` and `:predictLongRunning` type instances and parameters as `any` in the discovery document; the fields
# Vertex reads there are the ones google-genai 3.6.1's `_*_to_vertex` converters send, so the fake takes those.
IMAGEN_INSTANCE_FIELDS = ("prompt", "referenceImages")
IMAGEN_PARAMETERS = (
    "addWatermark", "aspectRatio", "editConfig", "editMode", "enhancePrompt", "guidanceScale", "includeRaiReason",
    "includeSafetyAttributes", "language", "negativePrompt", "outputOptions", "personGeneration", "safetySetting",
    "sampleCount", "sampleImageSize", "seed", "storageUri",
)  # fmt: skip
VEO_INSTANCE_FIELDS = ("prompt", "image", "video", "lastFrame", "mask", "referenceImages")
VEO_PARAMETERS = (
    "aspectRatio", "compressionQuality", "durationSeconds", "enhancePrompt", "fps", "generateAudio", "negativePrompt",
    "personGeneration", "pubsubTopic", "resizeMode", "resolution", "sampleCount", "seed", "storageUri",
)  # fmt: skip
