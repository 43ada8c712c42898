"""Video and audio I/O: decode clips to uint8 RGB frames + mono float32 audio, and write them back."""

from stfbench.media.audio import read_audio
from stfbench.media.clip import Clip
from stfbench.media.video import iter_video_frames, probe_video, read_clip, write_clip

__all__ = ["Clip", "iter_video_frames", "probe_video", "read_audio", "read_clip", "write_clip"]
