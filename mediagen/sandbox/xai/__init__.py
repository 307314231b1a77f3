"""The xAI fake: xai-sdk's Image and Video gRPC services on loopback, with image and video URLs served over HTTP.

    async with Sandbox(vendors=("xai",)) as sb:
        client = xai_sdk.AsyncClient(api_key="k", api_host=sb.base_url("xai"), use_insecure_channel=True)

Prompt markers script outcomes per request: `sandbox:block-prompt` (moderation refuses the request: no images; a video
ends DONE without a URL), `sandbox:block-output` (every image, or the video, withheld by moderation),
`sandbox:never-finish` / `sandbox:fail-job` / `sandbox:expire-job` (a video job stays PENDING, ends FAILED, ends
EXPIRED). The framework's fault scripts apply as gRPC statuses: rate_limit (RESOURCE_EXHAUSTED with a RetryInfo),
server_error (INTERNAL), unavailable (UNAVAILABLE, which xai-sdk itself retries up to 5 attempts), hang (held past the
client's deadline), malformed (an answer that does not parse), retired (UNIMPLEMENTED), content_policy
(moderation: `form=flagged`, the default, withholds the images / the video; `form=empty` answers no images;
`form=status` refuses with INVALID_ARGUMENT); job_fails, job_never_finishes and slow_poll on GenerateVideo /
ExtendVideo; truncated_download on the image and video URLs. With a state_dir, images handed out by URL and video
jobs are kept there, so another sandbox serves and polls them. Requires xai-sdk (grpcio, its protos).
"""

from mediagen.sandbox.xai.fake import SANDBOX_KEY, XaiFake
from mediagen.sandbox.xai.state import StoredImage, VideoJob, XaiState

__all__ = ["SANDBOX_KEY", "StoredImage", "VideoJob", "XaiFake", "XaiState"]
