"""Pure-Python encoders and muxers that make real, playable media without native codecs."""
